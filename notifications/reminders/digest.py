"""The secretariat's daily digest: what is due this week, what is overdue, which reminders failed.

A digest is a reminder row like any other (rule 'digest', keyed by the process's first stage, the secretariat
member and the day), so it is claimed, retried and recorded by the same machinery and goes out once a day even
when the scheduler fires twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from config.settings import get_settings
from models import limits
from models.audience import active_secretariat
from models.directory import Person
from models.enums import ReminderRule, ReminderStatus, StageState
from models.process import Process, Stage
from models.queries import by_id, stages_of
from models.reminder import Reminder
from models.types import table_of
from notifications.mail.render import days_text
from notifications.reminders.context import World
from notifications.reminders.recipients import owing

_INSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
_KEY = ["stage_id", "person_id", "rule", "occurrence", "due_date_seen"]  # uq_reminder_key


def schedule_digests(session: Session, now: datetime) -> int:
    """Add today's digest rows (due now) for every process and secretariat member; none twice. Each row is one
    INSERT ... ON CONFLICT DO NOTHING on the reminder key, so two replicas scheduling at once add it once and
    neither fails: the second waits for the first's row and leaves it be."""
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        raise NotImplementedError(f"digests need INSERT ... ON CONFLICT, not written for {dialect}")
    insert, table = _INSERTS[dialect], table_of(Reminder)
    added = 0
    secretariat = active_secretariat(session)
    for process in session.exec(select(Process).order_by(col(Process.id))).all():
        stages = stages_of(session, process)
        if not stages:
            continue
        today = now.astimezone(ZoneInfo(process.timezone)).date()
        first_stage = stages[0].id
        assert first_stage is not None  # a stored row
        for person_id in by_id(secretariat):
            row = Reminder(
                stage_id=first_stage,
                person_id=person_id,
                rule=ReminderRule.DIGEST,
                occurrence=today.toordinal(),
                offset_days=0,
                send_at=now,
                due_date_seen=today,
            )
            statement = (
                insert(table)
                .values(**row.model_dump(exclude={"id"}))
                .on_conflict_do_nothing(index_elements=_KEY)
                .returning(table.c.id)
            )
            added += len(session.connection().execute(statement).all())  # no row back: it was there already
    session.flush()
    return added


def _owing_text(session: Session, process: Process, stage: Stage, now: datetime) -> str:
    people = owing(session, process, stage, now)
    states = sorted({r.member_state.name for r in people if r.member_state is not None})
    others = sorted({r.person.name for r in people if r.member_state is None})
    return ", ".join(states + others) or "nobody"


def digest_context(session: Session, world: World, row: Reminder, now: datetime) -> dict[str, Any]:
    stage, person = world.stages[row.stage_id], world.people[row.person_id]
    process = world.processes[stage.process_id]
    today = now.astimezone(ZoneInfo(process.timezone)).date()
    due_this_week, overdue = [], []
    for s in stages_of(session, process):
        if s.state is not StageState.ACTIVE:
            continue
        left = s.days_left(today)
        days = days_text(left) if limits.plausible(s.due_date) else "a date beyond reason: reschedule it"
        item = {"stage": s.name, "due": s.due_date, "days": days, "owing": _owing_text(session, process, s, now)}
        if left < 0:
            overdue.append(item)
        elif left < 7:
            due_this_week.append(item)
    stage_ids = [s.id for s in stages_of(session, process)]
    failed_rows = session.exec(
        select(Reminder)
        .where(
            Reminder.status == ReminderStatus.FAILED,
            col(Reminder.stage_id).in_(stage_ids),
            col(Reminder.claimed_at) >= now - timedelta(days=7),
        )
        .order_by(col(Reminder.claimed_at))
    ).all()
    names = {s.id: s.name for s in stages_of(session, process)}
    failed = []
    for f in failed_rows:
        recipient = session.get(Person, f.person_id)
        failed.append(
            {
                "recipient": f"{recipient.name} <{recipient.email}>" if recipient else f.person_id,
                "stage": names.get(f.stage_id, f.stage_id),
                "rule": f.rule,
                "error": f.last_error or "",
            }
        )
    return {
        "process": {"short_name": process.short_name, "title": process.title, "timezone": process.timezone},
        "recipient": {"name": person.name, "email": person.email},
        "today": today,
        "due_this_week": due_this_week,
        "overdue": overdue,
        "failed": failed,
        "dashboard_url": get_settings().base_url.rstrip("/") + "/",
    }
