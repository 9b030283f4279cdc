"""Read models for people: what will go out when (preview), what went out (a stage's history), what failed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, or_, select

from models.directory import Person
from models.enums import MEETING_RULES, ROLE_WORDS, ReminderRule, ReminderStatus, Role
from models.process import Process, Stage
from models.reminder import Reminder, meeting_id_of
from notifications.mail.render import subject_for
from notifications.reminders.context import load_world, reminder_context
from notifications.reminders.invitations import meeting_message
from notifications.reminders.recipients import locate


@dataclass(frozen=True)
class Line:
    row: Reminder
    person: Person
    stage: Stage
    zone: str
    subject: str

    @property
    def local_time(self) -> str:
        return f"{self.row.send_at.astimezone(ZoneInfo(self.zone)):%a %d %b %Y %H:%M} {self.zone}"


def _lines(session: Session, rows: list[Reminder], *, subjects: bool) -> list[Line]:
    if not rows:
        return []
    # Imported here: `consultrack status` asks for the failed rows on every run, and with none it must not pay
    # for the zone, holiday and template machinery (a third of its start-up; bench/status_startup.py).

    world = load_world(session, rows)
    lines = []
    for row in rows:
        person, stage = world.people[row.person_id], world.stages[row.stage_id]
        process: Process = world.processes[stage.process_id]
        zone = locate(person, world.states.get(person.member_state_code or ""), process.timezone)[0]
        subject = ""
        if subjects and row.rule in MEETING_RULES:
            meeting = world.meetings[meeting_id_of(row.occurrence)]
            message, ctx, _ics, _method = meeting_message(
                session, row, meeting, process, stage, person, row.send_at, world.contacts
            )
            subject = subject_for(message, ctx)
        elif subjects and row.rule is not ReminderRule.DIGEST:
            message, ctx = reminder_context(session, world, row, row.send_at, late=False)
            subject = subject_for(message, ctx)
        lines.append(Line(row, person, stage, zone, subject))
    return lines


def upcoming(session: Session, now: datetime, days: int) -> list[Line]:
    """Pending rows due by now + `days` (rows already due first), with the subject they would have then."""
    rows = session.exec(
        select(Reminder)
        .where(Reminder.status == ReminderStatus.PENDING, Reminder.send_at <= now + timedelta(days=days))
        .order_by(col(Reminder.send_at), col(Reminder.id))
    ).all()
    return _lines(session, list(rows), subjects=True)


def stage_history(session: Session, stage: Stage) -> list[Line]:
    rows = session.exec(
        select(Reminder)
        .where(Reminder.stage_id == stage.id, Reminder.rule != ReminderRule.DIGEST)
        .order_by(col(Reminder.send_at), col(Reminder.id))
    ).all()
    return _lines(session, list(rows), subjects=False)


def failed(session: Session, process: Process) -> list[Line]:
    stage_ids = select(Stage.id).where(Stage.process_id == process.id)
    rows = session.exec(
        select(Reminder)
        .where(Reminder.status == ReminderStatus.FAILED, col(Reminder.stage_id).in_(stage_ids))
        .order_by(col(Reminder.send_at))
    ).all()
    return _lines(session, list(rows), subjects=False)


@dataclass(frozen=True)
class Waiting:
    """Pending reminders held back by one error (a server deferring, a refused SMTP login): not failed, but
    nothing goes until it clears."""

    error: str
    rows: int
    next_try: datetime

    @property
    def hint(self) -> str:
        """What to do about it, where the error says."""
        if "login refused" in self.error:
            return "check CONSULTRACK_SMTP_USERNAME and CONSULTRACK_SMTP_PASSWORD"
        return ""


def retrying(session: Session, process: Process) -> list[Waiting]:
    """The pending rows of `process` whose last try failed and that wait for the next (its time is set), by
    error, the most numerous first."""
    stage_ids = select(Stage.id).where(Stage.process_id == process.id)
    count = func.count(col(Reminder.id))
    grouped = session.exec(
        select(Reminder.last_error, count, func.min(Reminder.next_attempt_at))
        .where(
            Reminder.status == ReminderStatus.PENDING,
            col(Reminder.last_error).is_not(None),
            col(Reminder.next_attempt_at).is_not(None),
            col(Reminder.stage_id).in_(stage_ids),
        )
        .group_by(Reminder.last_error)
        .order_by(count.desc(), col(Reminder.last_error))
    ).all()
    return [
        Waiting(error or "", int(rows), next_try) for error, rows, next_try in grouped if next_try is not None
    ]  # none is: the rows are those with a next try


def failed_by_stage(session: Session, process: Process) -> list[tuple[Stage, int]]:
    """How many reminders failed, stage by stage, in timeline order: for the dashboard's at-a-glance line."""
    count = func.count(col(Reminder.id))
    found = session.exec(
        select(Stage, count)
        .where(Stage.process_id == process.id, Reminder.stage_id == Stage.id, Reminder.status == ReminderStatus.FAILED)
        .group_by(col(Stage.id))
        .order_by(col(Stage.position))
    ).all()
    return [(stage, int(n)) for stage, n in found]


def next_due(session: Session, until: datetime, real: datetime) -> datetime | None:
    """The earliest moment, up to `until`, at which a pending reminder becomes due (for a replayed clock). A row
    waiting for another try counts once its backoff is over on the real clock `real` (its `next_attempt_at` is
    a real instant); until then a replay passes it by, and the service's sweep sends it later."""
    return session.exec(
        select(func.min(Reminder.send_at)).where(
            Reminder.status == ReminderStatus.PENDING,
            Reminder.send_at <= until,
            or_(col(Reminder.next_attempt_at).is_(None), col(Reminder.next_attempt_at) <= real),
        )
    ).one()


NOTICE_WORDS = {
    "moved": "will be told the deadline moved to {to}",
    "skipped": "will be told {stage} was skipped",
    "completed": "will be told {stage} was completed early",
    "started_in_error": "will be told {stage} had not begun after all",
}


def _count(n: int, words: tuple[str, str]) -> str:
    return f"{n} {words[0] if n == 1 else words[1]}"


Change = tuple[str, str, str, date | None, datetime | None, datetime | None]
"""(rule, role, notice kind, notice deadline, send time before, send time after) of one planned row."""


def in_words(changes: list[Change], stage: str) -> list[str]:
    """What a change does to the e-mails, counted per kind: "6 focal points will be told the deadline moved to
    15 April 2025", "48 reminders move 15 days later", "12 reminders cancelled"."""
    told: Counter[tuple[str, str, date | None]] = Counter()
    moved: Counter[int] = Counter()
    new = cancelled = 0
    for rule, role, notice, to, before, after in changes:
        if rule == ReminderRule.NOTICE:
            if after is not None and before is None:
                told[notice, role, to] += 1
        elif before is not None and after is not None:
            moved[(after.date() - before.date()).days] += 1
        elif after is not None:
            new += 1
        elif before is not None:
            cancelled += 1
    lines = []
    for (notice, role, to), n in sorted(told.items(), key=lambda item: (-item[1], item[0][0], item[0][1])):
        who = _count(n, ROLE_WORDS[Role(role)])
        when = f"{to.day} {to:%B %Y}" if to else ""
        lines.append(f"{who} {NOTICE_WORDS.get(notice, 'will be told of the change').format(to=when, stage=stage)}")
    for days, n in sorted(moved.items()):
        verb = "moves" if n == 1 else "move"
        way = (
            "within the same day"
            if days == 0
            else f"{_count(abs(days), ('day', 'days'))} {'later' if days > 0 else 'earlier'}"
        )
        lines.append(f"{_count(n, ('reminder', 'reminders'))} {verb} {way}")
    if new:
        lines.append(f"{_count(new, ('reminder', 'reminders'))} newly planned")
    if cancelled:
        lines.append(f"{_count(cancelled, ('reminder', 'reminders'))} cancelled")
    return lines
