"""The reschedule preview is a dry run (models.db.dry_run_session: a private copy on SQLite, a rolled-back
transaction taking no lock on the process on PostgreSQL), and it still shows exactly what the change then does."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlmodel import select

from config import clock
from consultrack.web.preview import reschedule_preview
from models.db import read_session, session_scope
from models.directory import Person
from models.enums import ReminderRule, ReminderStatus
from models.process import Stage
from models.queries import get_meeting, get_process
from models.reminder import Reminder
from models.schedule import apply_reschedule
from notifications.reminders.planner import replan_key
from tests.helpers import fingerprint
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, PROCESS, sign_in

NEW_END = date(2025, 4, 15)


def pending() -> Counter[tuple[str, str, str, object]]:
    with read_session() as session:
        found = session.exec(
            select(Person.name, Stage.key, Reminder.rule, Reminder.send_at).where(
                Reminder.status == ReminderStatus.PENDING,
                Reminder.person_id == Person.id,
                Reminder.stage_id == Stage.id,
            )
        ).all()
    return Counter(tuple(row) for row in found)  # type: ignore[misc]


def test_the_preview_shows_exactly_what_the_change_does(march: str) -> None:
    now = clock.now()
    stored, before = fingerprint(), pending()
    preview = reschedule_preview(
        PROCESS, "outline-feedback", start=None, end=NEW_END, due=None, confirm=False, actor=ADMIN, now=now
    )
    assert fingerprint() == stored and pending() == before  # the dry run left nothing behind
    assert preview.reminders  # the change moves reminders: the comparison below is not empty-handed

    with session_scope() as session:
        plan = apply_reschedule(session, PROCESS, "outline-feedback", actor=ADMIN, now=now, reason="asked", end=NEW_END)
        replan_key(session, PROCESS, now)
    assert plan == preview.plan
    expected = before.copy()
    for change in preview.reminders:
        if change.before is not None:
            expected[(change.person, change.stage, change.rule, change.before)] -= 1
        if change.after is not None:
            expected[(change.person, change.stage, change.rule, change.after)] += 1
    assert pending() == +expected


def test_the_preview_page_counts_the_notices_warns_and_asks_about_agreed_meetings(client: Any) -> None:
    with session_scope() as session:  # the start notices went out; the NFP meeting of 10 April was agreed
        replan_key(session, PROCESS, clock.now())
    with session_scope() as session:
        for row in session.exec(select(Reminder).where(Reminder.rule == ReminderRule.START)).all():
            row.status, row.sent_at = ReminderStatus.SENT, row.send_at
        process = get_process(session, PROCESS)
        get_meeting(session, process, "nfp-2025-04").agreed = True
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    page = client.get(f"/p/{PROCESS}/stages/outline-feedback/reschedule", params={"end": "2025-04-15"}).text
    assert "3 focal points will be told the deadline moved to 15 April 2025" in page  # JP, MN, KP still owe
    assert "<details><summary>The notices (3)</summary>" in page
    assert "Adoption at SOM-28 would end on 15 January 2026, after the plan period starts (1 January 2026)" in page
    assert 'name="move_meeting" value="nfp-2025-04">' in page  # unticked: it stays
    assert '<input type="hidden" name="keep_meeting" value="nfp-2025-04">' in page
    moved = client.get(
        f"/p/{PROCESS}/stages/outline-feedback/reschedule",
        params={"end": "2025-04-15", "move_meeting": "nfp-2025-04"},
    ).text
    assert 'value="nfp-2025-04" checked>' in moved
    assert '<input type="hidden" name="move_meeting" value="nfp-2025-04">' in moved
