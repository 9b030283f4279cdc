"""/healthz: the verdicts for anyone, the details for the secretariat; the database identity it publishes."""

from __future__ import annotations

from typing import Any

import pytest

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
