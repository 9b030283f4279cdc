"""The secretariat's daily digest: what is due this week, what is overdue, which reminders failed.

A digest is a reminder row like any other (rule 'digest', keyed by the process's first stage, the secretariat
member and the day), so it is claimed, retried and recorded by the same machinery and goes out once a day even
when the scheduler fires twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from config.settings import get_settings
from models.directory import Person
from models.enums import ReminderStatus, Role, StageState
from models.process import Process, Stage
from models.queries import stages_of
from models.reminder import Reminder
from notifications.context import World
from notifications.planner import DIGEST
from notifications.recipients import owing
from notifications.render import days_text


def schedule_digests(session: Session, now: datetime) -> int:
    """Add today's digest rows (due now) for every process and secretariat member; none twice."""
    added = 0
    secretariat = session.exec(select(Person).where(Person.role == Role.SECRETARIAT, Person.active)).all()
    for process in session.exec(select(Process).order_by(Process.id)).all():
        stages = stages_of(session, process)
        if not stages:
            continue
        today = now.astimezone(ZoneInfo(process.timezone)).date()
        for person in secretariat:
            key = (stages[0].id, person.id, DIGEST, today.toordinal())
            exists = session.exec(select(Reminder.id).where(
                Reminder.stage_id == key[0], Reminder.person_id == key[1], Reminder.rule == DIGEST,
                Reminder.occurrence == key[3])).first()
            if exists is None:
                session.add(Reminder(stage_id=stages[0].id, person_id=person.id, rule=DIGEST,  # type: ignore[arg-type]
                                     occurrence=today.toordinal(), offset_days=0, send_at=now,
                                     due_date_seen=today.isoformat()))
                added += 1
    session.flush()
    return added


def _owing_text(session: Session, stage: Stage, zone: str) -> str:
    people = owing(session, stage, zone)
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
        left = (s.due_date - today).days
        item = {"stage": s.name, "due": s.due_date, "days": days_text(left),
                "owing": _owing_text(session, s, process.timezone)}
        if left < 0:
            overdue.append(item)
        elif left < 7:
            due_this_week.append(item)
    stage_ids = [s.id for s in stages_of(session, process)]
    failed_rows = session.exec(select(Reminder).where(
        Reminder.status == ReminderStatus.FAILED, col(Reminder.stage_id).in_(stage_ids),
        col(Reminder.claimed_at) >= now - timedelta(days=7)).order_by(Reminder.claimed_at)).all()
    names = {s.id: s.name for s in stages_of(session, process)}
    failed = []
    for f in failed_rows:
        recipient = session.get(Person, f.person_id)
        failed.append({"recipient": f"{recipient.name} <{recipient.email}>" if recipient else f.person_id,
                       "stage": names.get(f.stage_id, f.stage_id), "rule": f.rule, "error": f.last_error or ""})
    return {
        "process": {"short_name": process.short_name, "title": process.title, "timezone": process.timezone},
        "recipient": {"name": person.name, "email": person.email},
        "today": today, "due_this_week": due_this_week, "overdue": overdue, "failed": failed,
        "subscribe_url": get_settings().base_url.rstrip("/") + "/subscribe",
    }
