"""STARTTLS with credentials, as a real provider would require: a loopback aiosmtpd with a throwaway certificate
that refuses AUTH before TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import reset_settings
from models.enums import ReminderStatus
from tests.notifications.conftest import FOCAL, rows, stage_id, sweep_at
from tests.notifications.smtp_server import Recorder, starttls_controller, starttls_settings


async def test_starttls_and_login(march: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    controller = starttls_controller(recorder, tmp_path)
    controller.start()
    try:
        for name, value in starttls_settings(controller.port).items():
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
