"""Sweeps in real processes: one killed with SIGKILL in the middle of a batch and restarted, and two running at
once. Nothing is lost, nothing is sent twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from config.settings import get_settings
from models.db import session_scope
from models.directory import Person
from models.enums import ReminderStatus, Role
from notifications.planner import replan_key
from tests.conftest import NEASPEC, seoul
from tests.notifications.conftest import FOCAL, rows, stage_id
from tests.notifications.smtp_server import Faults, Server

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def sweeper(port: int, now: datetime, *args: str, batch: int = 200) -> subprocess.Popen[str]:
    settings = get_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTRACK_")}
    env.update({"CONSULTRACK_DATA_DIR": str(settings.data_dir), "CONSULTRACK_NOW": now.isoformat(),
                "CONSULTRACK_MAIL_SINK": "false", "CONSULTRACK_SMTP_PORT": str(port),
                "CONSULTRACK_REMINDER_BATCH_SIZE": str(batch), "PYTHONPATH": str(ROOT)})
    if settings.database_url:
        env["CONSULTRACK_DATABASE_URL"] = settings.database_url
    return subprocess.Popen([sys.executable, "-m", "tests.notifications.sweeper", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def report_of(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def started_rows() -> list:  # type: ignore[type-arg]
    return rows(rule="stage_started", stage_id=stage_id("outline-feedback"))


def test_killed_mid_batch_and_restarted(march: str) -> None:
    start = seoul("2025-03-03 10:00")
    with Server(Faults(pause_at=3)) as server:
        victim = sweeper(server.port, start)
        assert server.recorder.paused.wait(90), victim.stderr.read() if victim.stderr else ""
        victim.send_signal(signal.SIGKILL)  # while it waits for the server's answer to the third message
        victim.wait(30)
        time.sleep(0.3)
        assert len(server.deliveries) == 2
        state = Counter(r.status for r in started_rows())
        assert state == {ReminderStatus.SENT: 2, ReminderStatus.SENDING: 4}  # claimed by the dead sweep
        ids_before = {r.id: r.message_id for r in started_rows()}

        early = report_of(sweeper(server.port, start + timedelta(minutes=5)))
        assert early["sent"] == 0  # the claims are still leased: nobody else sends them yet
        after = report_of(sweeper(server.port, start + timedelta(minutes=11)))
        assert after["sent"] == 4

        recipients = server.recorder.recipients()
        assert recipients == FOCAL, Counter(recipients)  # all six, each exactly once
        assert {r.id: r.message_id for r in started_rows()} == ids_before  # the same Message-IDs
        assert {r.status for r in started_rows()} == {ReminderStatus.SENT}
        assert sorted(d.message_id for d in server.deliveries) == sorted(ids_before.values())


def test_two_sweeps_at_once(march: str) -> None:
    with session_scope() as session:  # ten focal points per member State: 66 start notices to share out
        for code in ("CN", "KP", "JP", "MN", "KR", "RU"):
            for n in range(10):
                session.add(Person(name=f"Extra {code} {n}", email=f"extra.{code.lower()}.{n}@example.org",
                                   role=Role.FOCAL_POINT, member_state_code=code))
        session.flush()
        replan_key(session, NEASPEC, seoul("2025-03-03 10:00"))
    expected = sorted(FOCAL + [f"extra.{c.lower()}.{n}@example.org" for c in ("cn", "kp", "jp", "mn", "kr", "ru")
                               for n in range(10)])
    with Server(Faults(delay=0.02)) as server:
        go = str(time.time() + 4)
        first, second = (sweeper(server.port, seoul("2025-03-03 10:00"), go, batch=4) for _ in range(2))
        reports = [report_of(first), report_of(second)]
    assert server.recorder.recipients() == expected  # every one exactly once
    assert sum(int(r["sent"]) for r in reports) == 66  # type: ignore[call-overload]
    workers = Counter(r.claimed_by for r in started_rows())
    assert len(workers) == 2, workers  # both sweeps did part of the work
    assert {r.status for r in started_rows()} == {ReminderStatus.SENT}
