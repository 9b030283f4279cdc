"""Deadlines stored before dates were bounded (written here with SQL, as old data would be) never reach anyone as
"739299 days overdue" and never stop the sweep: the rows fail with a clear reason, and re-planning plans none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import text

from models.db import session_scope
from models.enums import ReminderStatus
from notifications.reminders.planner import replan_key
from tests.conftest import NEASPEC, seoul
from tests.notifications.conftest import rows, stage_id, sweep_at
from tests.notifications.smtp_server import Server


def _due(day: date) -> None:
    with session_scope() as session:
        session.execute(
            text(
                "UPDATE stage SET due_date = :day, end_date = :day, version = version + 1 "
                "WHERE key = 'outline-feedback'"
            ),
            {"day": day},
        )


@pytest.mark.parametrize("day", [date(1, 1, 1), date(9999, 12, 31)])
async def test_reminders_of_a_deadline_beyond_reason_fail_clearly(
    march: str, smtp: Callable[..., Server], day: date
) -> None:
    server = smtp()
    await sweep_at("2025-03-03 10:00")  # the start notices, before the dates went wrong
    sent = len(server.deliveries)
    _due(day)
    report = await sweep_at("2025-03-17 10:00")  # "14 days left", planned for 31 March
    assert len(server.deliveries) == sent, "nothing goes out"
    failed = [r for r in rows(status=ReminderStatus.FAILED) if r.stage_id == stage_id("outline-feedback")]
    assert failed and report.failed == len(failed)  # type: ignore[attr-defined]
    assert all(
        r.last_error == f"the deadline of Preliminary feedback on the annotated outline ({day.isoformat()}) "
        "is beyond reason: reschedule the stage"
        for r in failed
    )


@pytest.mark.parametrize("day", [date(1, 1, 1), date(9999, 12, 31)])
def test_replanning_plans_nothing_for_a_deadline_beyond_reason(march: str, day: date) -> None:
    _due(day)
    with session_scope() as session:
        replan_key(session, NEASPEC, seoul("2025-03-10 09:00"))
    outline = stage_id("outline-feedback")
    assert not [r for r in rows(status=ReminderStatus.PENDING) if r.stage_id == outline]
