"""The daily digest rows: scheduled by every replica, added once. Two schedulers at once must neither duplicate a
row nor fail on the unique reminder key (INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from models.db import get_engine, session_scope
from notifications.reminders.digest import schedule_digests
from tests.conftest import seoul
from tests.notifications.conftest import rows

AT = seoul("2025-03-27 08:00")
SECRETARIAT_MEMBERS = 2


def test_scheduling_twice_adds_each_digest_once(march: str) -> None:
    with session_scope() as session:
        assert schedule_digests(session, AT) == SECRETARIAT_MEMBERS
    with session_scope() as session:
        assert schedule_digests(session, AT.replace(minute=1)) == 0
    with session_scope() as session:  # twice in one transaction, too
        assert schedule_digests(session, seoul("2025-03-28 08:00")) == SECRETARIAT_MEMBERS
        assert schedule_digests(session, seoul("2025-03-28 08:01")) == 0
    assert len(rows(rule="digest")) == 2 * SECRETARIAT_MEMBERS


def _wait_until_blocked(seconds: float = 10.0) -> None:
    """Until the other transaction waits for ours (PostgreSQL shows it in pg_locks; SQLite: give it a moment)."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one():
                return
            connection.rollback()
            time.sleep(0.02)
    raise AssertionError("the second scheduler never waited for the first")


def test_two_overlapping_schedulers_add_each_digest_once_and_neither_fails(march: str) -> None:
    """Replica B schedules while replica A's transaction, holding the new rows, is still open; A commits."""
    outcome: dict[str, object] = {}

    def replica_b() -> None:
        try:
            with session_scope() as session:
                outcome["added"] = schedule_digests(session, AT)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            outcome["error"] = repr(exc)

    with session_scope() as session:
        assert schedule_digests(session, AT) == SECRETARIAT_MEMBERS
        other = threading.Thread(target=replica_b)
        other.start()
        _wait_until_blocked()
    other.join(timeout=30)
    assert not other.is_alive()
    assert outcome == {"added": 0}
    assert len(rows(rule="digest")) == SECRETARIAT_MEMBERS
