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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import get_settings
from models.db import session_scope
from models.directory import Person
from models.enums import ReminderStatus, Role
from notifications.reminders.planner import replan_key
from tests.conftest import NEASPEC, seoul
from tests.notifications.conftest import FOCAL, rows, stage_id
from tests.notifications.smtp_server import Faults, Server

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def sweeper(port: int, now: datetime, *args: str, batch: int = 200, lease: int = 600) -> subprocess.Popen[str]:
    settings = get_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTRACK_")}
    env.update(
        {
            "CONSULTRACK_DATA_DIR": str(settings.data_dir),
            "CONSULTRACK_NOW": now.isoformat(),
            "CONSULTRACK_MAIL_SINK": "false",
            "CONSULTRACK_SMTP_PORT": str(port),
            "CONSULTRACK_REMINDER_BATCH_SIZE": str(batch),
            "CONSULTRACK_REMINDER_CLAIM_LEASE_SECONDS": str(lease),
            "PYTHONPATH": str(ROOT),
        }
    )
    if settings.database_url:
        env["CONSULTRACK_DATABASE_URL"] = settings.database_url
    return subprocess.Popen(
        [sys.executable, "-m", "tests.notifications.sweeper", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report_of(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def started_rows() -> list:  # type: ignore[type-arg]
    return rows(rule="stage_started", stage_id=stage_id("outline-feedback"))


SHORT_LEASE = 2


@pytest.mark.parametrize(
    "business",
    [seoul("2025-03-03 10:00"), seoul("2031-06-02 10:00")],
    ids=["frozen-in-the-past", "frozen-in-the-future"],
)
def test_killed_mid_batch_and_restarted(march: str, business: datetime) -> None:
    """A sweep standing on a frozen business day (as the demo's) is killed with SIGKILL while the server holds
    its third message. Its claims expire by the real clock: a restart after the lease sends every stuck row
    exactly once, with the Message-ID it was claimed with. (Stamped with the frozen time, they never expired.)"""
    with Server(Faults(pause_at=3)) as server:
        victim = sweeper(server.port, business)
        assert server.recorder.paused.wait(90), victim.stderr.read() if victim.stderr else ""
        victim.send_signal(signal.SIGKILL)  # while it waits for the server's answer to the third message
        victim.wait(30)
        time.sleep(0.3)
        assert len(server.deliveries) == 2
        stuck = rows(status=ReminderStatus.SENDING)  # claimed by the dead sweep
        assert len(stuck) >= 4 and len(rows(status=ReminderStatus.SENT)) == 2
        ids_before = {r.id: r.message_id for r in [*stuck, *rows(status=ReminderStatus.SENT)]}

        early = report_of(sweeper(server.port, business))
        assert early["sent"] == 0  # the claims are still leased (600 s): nobody else sends them yet
        latest_claim = max(r.claimed_at for r in stuck)  # type: ignore[type-var]
        time.sleep(max(0.0, (latest_claim + timedelta(seconds=SHORT_LEASE) - datetime.now(UTC)).total_seconds()))
        after = report_of(sweeper(server.port, business, lease=SHORT_LEASE))
        assert after["sent"] == len(stuck)

        messages = [d.message_id for d in server.deliveries]
        assert len(messages) == len(ids_before) == len(set(messages))  # every claimed row exactly once
        assert sorted(messages) == sorted(ids_before.values())  # with the Message-IDs they were claimed with
        assert rows(status=ReminderStatus.SENDING) == []
        assert {r.id: r.message_id for r in rows(status=ReminderStatus.SENT)} == ids_before


def test_two_sweeps_at_once(march: str) -> None:
    with session_scope() as session:  # ten focal points per member State: 66 start notices to share out
        for code in ("CN", "KP", "JP", "MN", "KR", "RU"):
            for n in range(10):
                session.add(
                    Person(
                        name=f"Extra {code} {n}",
                        email=f"extra.{code.lower()}.{n}@example.org",
                        role=Role.FOCAL_POINT,
                        member_state_code=code,
                    )
                )
        session.flush()
        replan_key(session, NEASPEC, seoul("2025-03-03 10:00"))
    expected = sorted(
        FOCAL + [f"extra.{c.lower()}.{n}@example.org" for c in ("cn", "kp", "jp", "mn", "kr", "ru") for n in range(10)]
    )
    with Server(Faults(delay=0.02)) as server:
        go = str(time.time() + 4)
        first, second = (sweeper(server.port, seoul("2025-03-03 10:00"), go, batch=4) for _ in range(2))
        reports = [report_of(first), report_of(second)]
    assert server.recorder.recipients() == expected  # every one exactly once
    assert sum(int(r["sent"]) for r in reports) == 66  # type: ignore[call-overload]
    workers = Counter(r.claimed_by for r in started_rows())
    assert len(workers) == 2, workers  # both sweeps did part of the work
    assert {r.status for r in started_rows()} == {ReminderStatus.SENT}
