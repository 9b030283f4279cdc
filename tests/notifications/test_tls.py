"""STARTTLS with credentials, as a real provider would require: a loopback aiosmtpd with a throwaway certificate
that refuses AUTH before TLS."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from config.settings import reset_settings
from models.enums import ReminderStatus
from notifications.mail.sink import free_port
from tests.notifications.conftest import FOCAL, rows, stage_id, sweep_at
from tests.notifications.smtp_server import Recorder, authenticator, certificate


async def test_starttls_and_login(march: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificate(tmp_path),
        require_starttls=True,
        authenticator=authenticator("tracker", "s3cret"),
        auth_required=True,
    )
    controller.start()
    try:
        for name, value in {
            "MAIL_SINK": "false",
            "SMTP_PORT": str(port),
            "SMTP_STARTTLS": "true",
            "SMTP_VALIDATE_CERTS": "false",
            "SMTP_USERNAME": "tracker",
            "SMTP_PASSWORD": "s3cret",
        }.items():
            monkeypatch.setenv(f"CONSULTRACK_{name}", value)
        reset_settings()
        report = await sweep_at("2025-03-03 10:00")
    finally:
        controller.stop()
        reset_settings()
    assert report.sent == 6, report
    assert sorted(r for d in recorder.deliveries for r in d.rcpt_tos) == FOCAL
    assert {r.status for r in rows(rule="stage_started", stage_id=stage_id("outline-feedback"))} == {
        ReminderStatus.SENT
    }
