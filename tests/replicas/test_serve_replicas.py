"""Two replicas of the whole service (`consultrack serve`, each with its own APScheduler sweeping at start-up and
every minute) on one database: every reminder reaches the SMTP server exactly once, and both replicas sent some.
test_sweep_replicas.py proves the claims with bare sweeps; this proves the service's scheduler keeps them."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from models.db import dispose_engines, read_session
from models.enums import ReminderStatus
from models.reminder import Reminder
from tests.replicas.fleet import SWEEP_AT, CountingSink, PrefectServer, plan_crowd, replica_env, start_services

DELEGATES = 3000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_services_send_every_reminder_exactly_once(
    data_dir: Path, database_url: str, prefect_api: PrefectServer, tmp_path: Path
) -> None:
    due = plan_crowd(DELEGATES)
    dispose_engines()
    url = None if database_url.startswith("sqlite") else database_url
    with CountingSink() as sink:
        services = start_services(
            2, lambda n: replica_env(data_dir, url, sink.port, prefect_api.api_url, tmp_path / f"prefect-{n}"), tmp_path
        )
        try:
            deadline = time.monotonic() + 420
            while sum(sink.handler.snapshot().values()) < due and time.monotonic() < deadline:
                for process, log in services:
                    assert process.poll() is None, log.read_text(errors="replace")[-3000:]
                time.sleep(0.5)
            time.sleep(2)  # anything sent twice would arrive now
        finally:
            for process, _ in services:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(60) for process, _ in services]
        delivered = sink.handler.snapshot()
    assert codes == [0, 0], [log.read_text(errors="replace")[-2000:] for _, log in services]

    duplicates = {mid: n for mid, n in delivered.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} message(s) delivered more than once"
    with read_session() as session:
        rows = session.exec(select(Reminder).where(Reminder.send_at <= SWEEP_AT)).all()
    sent = [r for r in rows if r.status is ReminderStatus.SENT]
    assert len(sent) == len(rows) == due == sum(delivered.values())
    assert {r.message_id for r in sent} == set(delivered)
    by_replica = Counter(r.claimed_by.split(":")[1] for r in sent if r.claimed_by)
    assert set(by_replica) == {str(process.pid) for process, _ in services}, by_replica
