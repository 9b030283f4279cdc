"""What a reschedule would change, exactly: the change and the reminder re-planning are applied in a dry run
(models.db.dry_run_session: rolled back, and never holding the write lock while it computes), and the rows are
compared. The preview and the real change share every rule. The dashboard, the API and the CLI show it alike
(`Preview.summary`: the notices and reminder moves in words, then the detail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from calendars.events import uid
from models.db import dry_run_session
from models.directory import Person
from models.enums import ReminderRule, ReminderStatus
from models.process import Meeting, Stage
from models.queries import get_process, stages_of
from models.reminder import Reminder
from models.schedule import ReschedulePlan, apply_reschedule
from notifications.reminders.planner import replan
from notifications.reminders.preview import in_words


@dataclass(frozen=True)
class ReminderChange:
    person: str
    stage: str
    rule: str
    before: datetime | None
    after: datetime | None
    """None before: a new reminder; None after: cancelled."""
    role: str = ""
    notice: str = ""
    """A change notice's kind (notifications/reminders/notices.py)."""
    to: date | None = None
    """A change notice's deadline."""


@dataclass(frozen=True)
class EventChange:
    uid: str
    title: str
    before: str
    after: str
    sequence: tuple[int, int]


@dataclass(frozen=True)
class Preview:
    plan: ReschedulePlan
    reminders: list[ReminderChange]
    events: list[EventChange]

    @property
    def summary(self) -> list[str]:
        """The notices that will go out and the reminders that move, counted per kind, in words."""
        return in_words(
            [(c.rule, c.role, c.notice, c.to, c.before, c.after) for c in self.reminders],
            self.plan.stages[0].name if self.plan.stages else "",
        )

    @property
    def notices(self) -> list[ReminderChange]:
        return [c for c in self.reminders if c.rule == ReminderRule.NOTICE]


def _reminders(session: Session, stage_ids: list[int]) -> dict[int, tuple[Reminder, Person, str]]:
    rows = session.exec(
        select(Reminder, Person, Stage).where(
            col(Reminder.stage_id).in_(stage_ids), Reminder.person_id == Person.id, Reminder.stage_id == Stage.id
        )
    ).all()
    return {r.id: (r, p, s.key) for r, p, s in rows if r.id is not None}


def _span(first: date, last: date) -> str:
    return f"{first:%d %b %Y}" if first == last else f"{first:%d %b} - {last:%d %b %Y}"


def reschedule_preview(
    process_key: str,
    stage_key: str,
    *,
    start: date | None,
    end: date | None,
    due: date | None,
    confirm: bool,
    actor: str,
    now: datetime,
    move_meetings: tuple[str, ...] = (),
    keep_meetings: tuple[str, ...] = (),
    reason: str | None = None,
) -> Preview:
    with dry_run_session() as session:
        process = get_process(session, process_key)
        stages = {s.key: s for s in stages_of(session, process)}
        ids = [s.id for s in stages.values() if s.id is not None]
        before_stage = {k: (s.start_date, s.end_date, s.due_date, s.version) for k, s in stages.items()}
        meetings = {
            m.key: (m.day, m.end_day, m.version, m.title)
            for m in session.exec(select(Meeting).where(Meeting.process_id == process.id)).all()
        }
        reminders_before = {i: (r.status, r.send_at) for i, (r, _, _) in _reminders(session, ids).items()}
        plan = apply_reschedule(
            session,
            process_key,
            stage_key,
            actor=actor,
            now=now,
            reason=reason or "(the reason you give)",
            start=start,
            end=end,
            due=due,
            confirm=confirm,
            move_meetings=move_meetings,
            keep_meetings=keep_meetings,
        )
        replan(session, process, now)
        session.flush()
        changes: list[ReminderChange] = []
        for rid, (row, who, skey) in _reminders(session, ids).items():
            was = reminders_before.get(rid)
            live_now = row.status is ReminderStatus.PENDING
            person, role = who.name, who.role.value
            if was is None:
                if live_now:
                    notice = str(row.details.get("kind", "")) if row.rule is ReminderRule.NOTICE else ""
                    to = row.due_date_seen if notice else None
                    changes.append(ReminderChange(person, skey, row.rule, None, row.send_at, role, notice, to))
                continue
            live_before = was[0] is ReminderStatus.PENDING
            if live_before and not live_now:
                changes.append(ReminderChange(person, skey, row.rule, was[1], None, role))
            elif live_now and (not live_before or was[1] != row.send_at):
                changes.append(
                    ReminderChange(person, skey, row.rule, was[1] if live_before else None, row.send_at, role)
                )
        events: list[EventChange] = []
        for move in plan.stages:
            old = before_stage[move.key]
            version = stages[move.key].version
            events.append(
                EventChange(
                    uid(process, "stage", move.key),
                    move.name,
                    _span(old[0], old[1]),
                    _span(move.new_start, move.new_end),
                    (old[3] - 1, version - 1),
                )
            )
            if old[2] != move.new_due:
                events.append(
                    EventChange(
                        uid(process, "deadline", move.key),
                        f"Deadline: {move.name}",
                        f"{old[2]:%d %b %Y}",
                        f"{move.new_due:%d %b %Y}",
                        (old[3] - 1, version - 1),
                    )
                )
        moved_meetings = {
            m.key: m
            for m in session.exec(
                select(Meeting).where(
                    Meeting.process_id == process.id, col(Meeting.key).in_([mm.key for mm in plan.meetings])
                )
            ).all()
        }
        for key, meeting in moved_meetings.items():
            day, end_day, version, title = meetings[key]
            events.append(
                EventChange(
                    uid(process, "meeting", key),
                    title,
                    _span(day, end_day),
                    _span(meeting.day, meeting.end_day),
                    (version - 1, meeting.version - 1),
                )
            )
        changes.sort(key=lambda c: (c.after or c.before or now, c.person))
        return Preview(plan, changes, events)
