"""`consultrack remind run` decides "nothing is due" before Prefect starts, and never misses a due row."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from config import clock
from config.settings import reset_settings
from consultrack.cli import app
from flows import engine, stages
from models.db import read_session
from models.enums import ReminderStatus
from models.reminder import Reminder
from tests.conftest import ACTOR, seoul

pytestmark = pytest.mark.usefixtures("prefect_server")
NOTHING_SENT = "sent 0 (late 0), skipped 0 as superseded, failed 0, to retry 0, cancelled 0\n"


def remind_run(now: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CONSULTRACK_NOW", now)
    reset_settings()
    result = CliRunner().invoke(app, ["remind", "run"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_nothing_due_runs_no_flow_and_a_due_row_is_sent(
    neaspec: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run = engine.run
    flows_run: list[str] = []

    def counted(flow_fn: Any, **kwargs: Any) -> Any:
        flows_run.append(flow_fn.name)
        return real_run(flow_fn, **kwargs)

    monkeypatch.setattr(engine, "run", counted)
    with clock.frozen(seoul("2024-12-13 10:00")):
        real_run(stages.start_stage, process_key=neaspec, stage_key="som27-kickoff", actor=ACTOR)
    with read_session() as session:
        pending = session.exec(
            select(Reminder).where(Reminder.status == ReminderStatus.PENDING).order_by(Reminder.send_at)
        ).all()
    assert pending, "the stage planned no reminder"
    first = pending[0]
    assert first.send_at.tzinfo is not None  # stored in UTC, read back aware (models/types.py)

    just_before = (first.send_at - timedelta(minutes=1)).isoformat()
    assert remind_run(just_before, monkeypatch) == NOTHING_SENT
    assert flows_run == []  # decided before Prefect: no flow, no temporary server

    said = remind_run(first.send_at.isoformat(), monkeypatch)
    assert flows_run == ["sweep-reminders"] and said.startswith("sent ") and not said.startswith("sent 0 ")
    with read_session() as session:
        row = session.get(Reminder, first.id)
        assert row is not None and row.status is ReminderStatus.SENT
