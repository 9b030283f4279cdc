"""`feed token new --send`: the subscribe e-mail through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from config.settings import reset_settings
from consultrack.cli import app, common
from models.db import read_session
from models.directory import Person
from models.token_rules import person_for_token
from models.tokens import FeedToken
from notifications.mail.sink import free_port
from tests.notifications.smtp_server import Faults, Server

ANNA = "anna.volkova@example.org"


def _cli(*args: str) -> tuple[int, str, str]:
    common.console.width = 200
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def smtp_port(neaspec: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    port = free_port()
    monkeypatch.setenv("CONSULTRACK_MAIL_SINK", "false")
    monkeypatch.setenv("CONSULTRACK_SMTP_PORT", str(port))
    reset_settings()
    yield port
    reset_settings()


def test_the_subscribe_email_carries_a_working_personal_link(smtp_port: int) -> None:
    with Server(port=smtp_port) as server:
        code, out, err = _cli("feed", "token", "new", ANNA, "--send", "--actor", "minji.secretariat@example.org")
    assert code == 0, err
    assert f"subscribe e-mail sent to {ANNA}" in out
    [delivery] = server.deliveries
    assert delivery.rcpt_tos == [ANNA]
    message = delivery.message
    assert str(message["To"]) == f"Anna Volkova <{ANNA}>"
    assert str(message["Subject"]) == "Subscribe to your consultation calendar (Anna Volkova)"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/subscribe/([A-Za-z0-9_-]{32})", text).group(1)  # type: ignore[union-attr]
    assert f"http://127.0.0.1:8000/calendars/{token}.ics" in text
    assert f'href="webcal://127.0.0.1:8000/calendars/{token}.ics"' in html
    assert "https://calendar.google.com/calendar/render?cid=" in html and "outlook.office.com" in html
    with read_session() as session:
        person = person_for_token(session, token)
        assert person is not None and person.email == ANNA
    with read_session() as session:
        others = [p.email for p in session.exec(select(Person)).all() if p.email != ANNA]
    assert not [o for o in others if o.encode() in delivery.content]


def test_a_failed_send_keeps_the_token_and_says_so(smtp_port: int) -> None:
    code, out, err = _cli("feed", "token", "new", ANNA, "--send")  # nothing listens on the port
    assert code == 1 and "was not sent" in err and "feed token 1 is valid" in err
    token = re.search(r"/calendars/([A-Za-z0-9_-]{32})\.ics", out).group(1)  # type: ignore[union-attr]
    with read_session() as session:
        assert person_for_token(session, token) is not None  # nothing lost: the printed address works
    with Server(Faults(reject={ANNA}), port=smtp_port) as server:
        code, _, err = _cli("feed", "token", "new", ANNA, "--send")
    assert code == 1 and "not sent" in err and "550 5.1.1" in err and server.deliveries == []
    with read_session() as session:
        assert len(session.exec(select(FeedToken)).all()) == 2


def test_the_local_sink_keeps_the_email_by_default(neaspec: str, data_dir: Path) -> None:
    code, _, err = _cli("feed", "token", "new", ANNA, "--send")
    assert code == 0, err
    stored = [p for p in (data_dir / "mailbox").rglob("*") if p.is_file()]
    assert len(stored) == 1 and b"Subscribe to your consultation calendar" in stored[0].read_bytes()


def test_the_local_sink_is_reached_without_the_servers_tls_and_login(
    neaspec: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sink is plain SMTP on loopback: settings made for the real server (STARTTLS, a login) do not apply."""
    for name, value in {"SMTP_STARTTLS": "true", "SMTP_USERNAME": "tracker", "SMTP_PASSWORD": "s3cret"}.items():
        monkeypatch.setenv(f"CONSULTRACK_{name}", value)
    reset_settings()
    try:
        code, _, err = _cli("feed", "token", "new", ANNA, "--send")
    finally:
        monkeypatch.undo()
        reset_settings()
    assert code == 0, err
    assert len([p for p in (data_dir / "mailbox").rglob("*.eml") if p.parent.name == "mailbox"]) == 1
