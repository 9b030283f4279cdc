"""The sweep keeps to two clocks: the business clock says what is due; the real clock times a retry's backoff
(a server's trouble passes in real time, whatever day the business clock stands on). And a sweep goes on while
due rows remain, however many superseded rows come first."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from config import clock
from config.settings import reset_settings
from models.enums import ReminderStatus
from notifications.reminders.sweep import sweep
from tests.conftest import seoul
from tests.notifications.conftest import rows
from tests.notifications.smtp_server import Faults, Server

FROZEN = [seoul("2025-03-03 10:00"), seoul("2031-06-02 10:00")]
FROZEN_IDS = ["frozen-in-the-past", "frozen-in-the-future"]


async def sweep_on(business: datetime) -> object:
    with clock.frozen(business):
        return await sweep()


@pytest.mark.parametrize("business", FROZEN, ids=FROZEN_IDS)
async def test_a_retry_waits_its_backoff_on_the_real_clock(march: str, smtp: object, business: datetime) -> None:
    server = smtp(Faults(tempfail_first=2))  # type: ignore[operator]
    first = await sweep_on(business)
    assert first.retrying == 2  # type: ignore[attr-defined]
    sent_before = len(server.deliveries)
    # A day later on the business clock, but not a minute later on the real one: still waiting.
    assert (await sweep_on(business + timedelta(days=1))).sent == 0  # type: ignore[attr-defined]
    # A minute later on the real clock, the business clock still frozen where it was: tried again.
    with clock.real_time_passed(timedelta(minutes=1, seconds=1)):
        again = await sweep_on(business)
    assert again.sent == 2  # type: ignore[attr-defined]
    assert len(server.deliveries) == sent_before + 2
    ids = [d.message_id for d in server.deliveries]
    assert len(ids) == len(set(ids))
    assert [r for r in rows(status=ReminderStatus.PENDING) if r.last_error] == []


async def test_batches_of_superseded_rows_do_not_end_the_sweep(
    march: str, smtp: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After five weeks without a sweep, each focal point's start notice and 14-, 7-, 2- and 0-day reminders
    give way to the latest: batches of 4 that hold only superseded rows come first, and the sweep goes on past
    them to send the latest reminders in the same run."""
    server: Server = smtp()  # type: ignore[operator]
    batch = 4
    monkeypatch.setenv("CONSULTRACK_REMINDER_BATCH_SIZE", str(batch))
    reset_settings()
    at = seoul("2025-04-09 17:00")
    due_before = [r for r in rows(status=ReminderStatus.PENDING) if r.send_at <= at]
    report = await sweep_on(at)
    assert report.skipped >= 3 * batch  # type: ignore[attr-defined]  # several whole batches of superseded rows
    assert report.sent > 0 and report.sent + report.skipped == len(due_before)  # type: ignore[attr-defined]
    assert [r for r in rows(status=ReminderStatus.PENDING) if r.send_at <= at] == []  # nothing due is left
    assert len(server.deliveries) == report.sent  # type: ignore[attr-defined]
    overdue = [d for d in server.deliveries if "overdue" in str(d.message["Subject"])]
    assert len(overdue) == len(server.deliveries)  # only the latest of each went
