"""/healthz: the verdicts for anyone, the details for the secretariat; the database identity it publishes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.settings import reset_settings
from tests.notifications.smtp_server import Recorder, starttls_controller, starttls_settings
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, sign_in


def test_details_for_a_signed_in_browser_verdicts_for_anyone(client: Any) -> None:
    anonymous = client.get("/healthz").json()
    assert anonymous["database"]["ok"] and set(anonymous["database"]) == {"ok", "id"}
    assert anonymous["mail"] == {"ok": True} and "sign in" in anonymous["detail"]
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    detailed = client.get("/healthz").json()
    assert detailed["mail"]["transport"] == "local sink" and "mailbox" in detailed["mail"]
    assert "detail" not in detailed or "sign in" not in str(detailed.get("detail"))
    assert detailed["database"]["id"] == anonymous["database"]["id"]


def test_the_database_identity_names_the_database_not_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import reset_settings
    from consultrack.client import database_identity

    def identity(url: str) -> str:
        monkeypatch.setenv("CONSULTRACK_DATABASE_URL", url)
        reset_settings()
        return database_identity()

    try:
        one = identity("postgresql+psycopg://tracker:first-password@db.example.org:5432/consultrack")
        assert one == identity("postgresql+psycopg://tracker:another-password@db.example.org:5432/consultrack")
        assert one != identity("postgresql+psycopg://tracker:first-password@db.example.org:5432/other")
    finally:
        monkeypatch.undo()
        reset_settings()


def test_the_mail_probe_goes_as_a_message_would(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real STARTTLS server on loopback that refuses AUTH before TLS: /healthz says the mail works only when a
    message would go (STARTTLS, the certificate checked as configured, the login accepted), as the sweep sends."""
    from consultrack.web import health

    controller = starttls_controller(Recorder(), tmp_path)
    port = controller.port
    sign_in(client, ADMIN, ADMIN_PASSWORD)

    def mail(**changes: str) -> dict[str, Any]:
        for name, value in {**starttls_settings(port), **changes}.items():
            monkeypatch.setenv(f"CONSULTRACK_{name}", value)
        reset_settings()
        health._mail_cache.clear()
        return client.get("/healthz").json()["mail"]  # type: ignore[no-any-return]

    controller.start()
    try:
        assert mail() == {"ok": True, "transport": f"smtp 127.0.0.1:{port}"}
        assert not mail(SMTP_VALIDATE_CERTS="true")["ok"]  # a self-signed certificate, checked
        assert not mail(SMTP_PASSWORD="wrong")["ok"]
        assert not mail(SMTP_STARTTLS="false")["ok"]  # no login before TLS
    finally:
        controller.stop()
        health._mail_cache.clear()
        monkeypatch.undo()
        reset_settings()
