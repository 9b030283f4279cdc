"""Two replicas sweep one database at once: every reminder reaches the SMTP server exactly once, every row is
recorded sent once, and both replicas did part of the work (so they really overlapped)."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from models.db import dispose_engines, read_session
from models.enums import ReminderStatus
from models.reminder import Reminder
from tests.replicas.fleet import (
    SWEEP_AT,
    CountingSink,
    PrefectServer,
    plan_crowd,
    replica_env,
    start_replicas,
    wait_all,
)

DELEGATES = int(os.environ.get("REPLICA_TEST_REMINDERS", "10000"))
REPORT = re.compile(r"sent (\d+) \(late (\d+)\), skipped (\d+)")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_replicas_send_every_reminder_exactly_once(
    data_dir: Path, database_url: str, prefect_api: PrefectServer, tmp_path: Path
) -> None:
    due = plan_crowd(DELEGATES)
    assert due >= DELEGATES
    dispose_engines()  # the replicas are other processes: this one holds no connection while they work
    url = None if database_url.startswith("sqlite") else database_url
    with CountingSink() as sink:
        replicas = start_replicas(
            2, lambda n: replica_env(data_dir, url, sink.port, prefect_api.api_url, tmp_path / f"prefect-{n}"), tmp_path
        )
        outputs = wait_all(replicas, timeout=840)
        delivered = sink.handler.snapshot()

    with read_session() as session:
        rows = session.exec(select(Reminder).where(Reminder.send_at <= SWEEP_AT)).all()
    sent = [r for r in rows if r.status is ReminderStatus.SENT]
    duplicates = {mid: n for mid, n in delivered.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} message(s) delivered more than once, e.g. {list(duplicates)[:3]}"
    assert sum(delivered.values()) == due
    assert len(sent) == due
    assert {r.message_id for r in sent} == set(delivered)
    assert all(r.attempts == 1 and r.sent_at is not None for r in sent)
    assert len(rows) == due, "every due row was sent: none left pending, claimed, skipped or failed"

    reported = [REPORT.search(text) for text in outputs]
    assert all(reported), outputs
    assert sum(int(m.group(1)) for m in reported if m) == due
    by_replica = Counter(r.claimed_by.split(":")[1] for r in sent if r.claimed_by)
    assert set(by_replica) == {str(process.pid) for process, _ in replicas}, by_replica
