"""Reminder rows derived from the timeline. Any change re-derives the pending rows of a process: new ones are
added, moved ones get their new time, unwanted ones are cancelled; sent, failed and skipped rows are history.

A reminder is wanted only for an owner who still owes something: a member State that has not responded, or
another owner (secretariat, stakeholders, SOM) while the stage's gate is not met at the moment the reminder
would go out. Start notices go to every owner.

Runs inside the transaction of the change that caused it, so the timeline and its reminders never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from config.settings import get_settings
from models import limits
from models.directory import Person
from models.enums import MEETING_MAIL_RULES, Ask, MeetingStatus, ReminderRule, ReminderStatus, StageState
from models.process import Meeting, Process, Stage
from models.queries import (
    by_id,
    deadline_at,
    get_process,
    lock_process,
    meeting_bounds,
    responded_codes,
    select_rows,
    stages_of,
)
from models.reminder import Reminder, meeting_occurrence
from models.template import ReminderPolicy
from models.types import table_of
from notifications.reminders import notices
from notifications.reminders.invitations import announce_changes, invited_since
from notifications.reminders.recipients import (
    GateAt,
    Recipient,
    escalation_contacts,
    gate_met_reason,
    gated,
    owners_of,
    participants,
    secretariat_addresses,
    why_not_owed,
)
from notifications.reminders.workdays import MAX_SHIFT_DAYS, is_working_day, local_morning, working_day_on_or_before

Key = tuple[int, int, ReminderRule, int]
RETRY_DETAILS = ("delivered_to", "refused")
"""What a row's tries record in its details (notifications/reminders/claims.py), kept when a change re-plans it."""


@dataclass(frozen=True)
class Planned:
    stage_id: int
    person_id: int
    rule: ReminderRule
    occurrence: int
    offset_days: int
    send_at: datetime
    due_date_seen: date
    cc: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return (self.stage_id, self.person_id, self.rule, self.occurrence)


@dataclass
class ReplanResult:
    added: int = 0
    moved: int = 0
    cancelled: int = 0
    announced: int = 0
    """Meeting updates and cancellations queued for people invited to a meeting that changed."""
    notices: int = 0


def policy_of(process: Process, stage: Stage) -> ReminderPolicy:
    return ReminderPolicy.model_validate(stage.reminder_policy or process.reminder_policy or {})


def _moved(planned_day: date, nominal: date, country: str | None) -> dict[str, Any]:
    if planned_day == nominal:
        return {"day": planned_day.isoformat()}
    return {"day": planned_day.isoformat(), "moved_from": nominal.isoformat()}


def _after_deadline_day(day: date, not_before: date, country: str | None) -> date:
    """An overdue reminder falling on a closed day moves LATER, to the next working day on or after `not_before`
    too (moving it earlier would bunch it with the previous one: "3 days overdue" on Thursday, "4 days" on Friday)."""
    start = max(day, not_before)
    for ahead in range(MAX_SHIFT_DAYS + 1):
        if is_working_day(start + timedelta(days=ahead), country):
            return start + timedelta(days=ahead)
    return start


def overdue_days(due: date, every_days: int, count: int, country: str | None) -> list[tuple[int, date, date]]:
    """(occurrence, nominal day, day sent) of each overdue reminder: the first working day on or after its nominal
    day, and never closer than `every_days` to the one before, so the repeats keep their spacing. Overdue reminders
    and escalations read the same days."""
    days: list[tuple[int, date, date]] = []
    previous = due
    for n in range(1, count + 1):
        nominal = due + timedelta(days=n * every_days)
        day = _after_deadline_day(nominal, previous + timedelta(days=every_days), country)
        days.append((n, nominal, day))
        previous = day
    return days


def plan_for(stage: Stage, process: Process, who: Recipient, policy: ReminderPolicy, hour: int) -> list[Planned]:
    """The start notice, the reminders before the deadline and the overdue repeats for one recipient."""
    assert stage.id is not None and who.person.id is not None and stage.started_at is not None
    zone = ZoneInfo(process.timezone)
    started = stage.started_at
    started_day = started.astimezone(zone).date()
    due, deadline = stage.due_date, deadline_at(stage, process)
    planned = partial(Planned, stage_id=stage.id, person_id=who.person.id, due_date_seen=due)
    rows: list[Planned] = []
    if policy.on_start:
        rows.append(
            planned(rule=ReminderRule.START, occurrence=0, offset_days=(started_day - due).days, send_at=started)
        )
    by_day: dict[date, Planned] = {}
    for days in policy.before_days:  # largest first: a closer reminder displaces a farther one on the same day
        nominal = due - timedelta(days=days)
        day = working_day_on_or_before(nominal, who.country, not_before=started_day)
        if day is None:
            continue
        send_at = local_morning(day, who.zone, hour)
        if started < send_at < deadline:
            by_day[day] = planned(
                rule=ReminderRule.BEFORE,
                occurrence=days,
                offset_days=-days,
                send_at=send_at,
                details=_moved(day, nominal, who.country),
            )
    for n, nominal, day in overdue_days(due, policy.overdue_every_days, policy.overdue_max, who.country):
        by_day[day] = planned(
            rule=ReminderRule.OVERDUE,
            occurrence=n,
            offset_days=n * policy.overdue_every_days,
            send_at=max(local_morning(day, who.zone, hour), deadline),
            details=_moved(day, nominal, who.country),
        )
    return rows + sorted(by_day.values(), key=lambda p: p.send_at)


def plan_escalations(
    stage: Stage, process: Process, who: Recipient, policy: ReminderPolicy, hour: int, cc: list[str]
) -> list[Planned]:
    """After `escalate_after` overdue reminders, each further one also goes to the alternate, the secretariat in cc."""
    assert stage.id is not None and who.person.id is not None
    due, deadline = stage.due_date, deadline_at(stage, process)
    rows = []
    for n, nominal, day in overdue_days(due, policy.overdue_every_days, policy.overdue_max, who.country):
        if n <= policy.escalate_after:
            continue
        rows.append(
            Planned(
                stage.id,
                who.person.id,
                ReminderRule.ESCALATION,
                n,
                n * policy.overdue_every_days,
                max(local_morning(day, who.zone, hour), deadline),
                due,
                cc,
                _moved(day, nominal, who.country),
            )
        )
    return rows


def _still_owed(planned: Planned, who: Recipient, gate: GateAt, now: datetime) -> bool:
    """A start notice goes to every owner; a reminder to a gated owner only while the gate is not met when it
    would go out (at its time, or now for one already due)."""
    return planned.rule is ReminderRule.START or not gated(who.owner) or not gate.met(max(planned.send_at, now))


def plan_meeting(
    meeting: Meeting, stage: Stage, who: Recipient, policy: ReminderPolicy, hour: int, since: datetime
) -> list[Planned]:
    """The reminders of a meeting for one invited participant, from their invitation on: `meeting_before_days`
    before it (7 and 1 by default) in their local morning, on a working day as the deadline reminders, and an
    hour before an online meeting."""
    assert meeting.id is not None and who.person.id is not None
    start, _end = meeting_bounds(meeting)
    planned = partial(Planned, stage_id=stage.id or 0, person_id=who.person.id, due_date_seen=meeting.day)
    rows: dict[date, Planned] = {}
    for days in policy.meeting_before_days:  # largest first: a closer reminder displaces a farther one
        nominal = meeting.day - timedelta(days=days)
        day = working_day_on_or_before(nominal, who.country, not_before=since.astimezone(ZoneInfo(who.zone)).date())
        if day is None:
            continue
        send_at = local_morning(day, who.zone, hour)
        if since < send_at < start:
            rows[day] = planned(
                rule=ReminderRule.MEETING_BEFORE,
                occurrence=meeting_occurrence(meeting.id, days),
                offset_days=-days,
                send_at=send_at,
                details={**_moved(day, nominal, who.country), "meeting": meeting.key},
            )
    soon = sorted(rows.values(), key=lambda p: p.send_at)
    timed = meeting.start_time is not None
    if meeting.virtual and timed and since < start - timedelta(hours=1):
        soon.append(
            planned(
                rule=ReminderRule.MEETING_SOON,
                occurrence=meeting_occurrence(meeting.id, 0),
                offset_days=0,
                send_at=start - timedelta(hours=1),
                details={"meeting": meeting.key},
            )
        )
    return soon


def _meeting_rows(session: Session, process: Process, stages: dict[int, Stage], hour: int) -> list[Planned]:
    """The meeting reminders of every scheduled meeting of `process` to the people invited to it."""
    rows: list[Planned] = []
    for meeting in session.exec(select(Meeting).where(Meeting.process_id == process.id)).all():
        stage = stages.get(meeting.stage_id)
        if meeting.status is not MeetingStatus.SCHEDULED or stage is None or not limits.plausible(meeting.day):
            continue
        invited = invited_since(session, meeting)
        if not invited:
            continue
        policy = policy_of(process, stage)
        for who in participants(session, meeting, process.timezone):
            if who.person.id in invited:
                rows += plan_meeting(meeting, stage, who, policy, hour, invited[who.person.id])
    return rows


def desired_rows(session: Session, process: Process, now: datetime) -> dict[Key, Planned]:
    """What each stage asks of each owner (its policy's `asks`) decides their rows: a written response, the
    reminders of the deadline; attendance (by default at a meeting-gated stage), the meeting's reminders to
    those invited instead; being informed, the start notice only."""
    hour = get_settings().reminder_local_hour
    wanted: dict[Key, Planned] = {}
    stages = {s.id: s for s in stages_of(session, process) if s.id is not None}
    for stage in stages.values():
        if stage.state is not StageState.ACTIVE or stage.started_at is None:
            continue
        if not limits.plausible(stage.due_date):  # stored before dates were bounded: nothing sensible to say
            continue
        policy = policy_of(process, stage)
        gate = GateAt(session, process, stage)
        for who in owners_of(session, stage, process.timezone):
            asked = policy.ask_of(who.owner, stage.gate_kind)
            for planned in plan_for(stage, process, who, policy, hour):
                if asked is not Ask.RESPONSE and planned.rule is not ReminderRule.START:
                    continue
                if _still_owed(planned, who, gate, now):
                    wanted[planned.key] = planned
        cc = secretariat_addresses(session)
        for who in escalation_contacts(session, stage, process.timezone):
            if policy.ask_of(who.owner, stage.gate_kind) is not Ask.RESPONSE:
                continue
            for planned in plan_escalations(stage, process, who, policy, hour, cc):
                if _still_owed(planned, who, gate, now):
                    wanted[planned.key] = planned
    for planned in _meeting_rows(session, process, stages, hour):
        wanted[planned.key] = planned
    return wanted


def _why_unwanted(
    session: Session,
    process: Process,
    stage: Stage,
    row: Reminder,
    now: datetime,
    people: dict[int, Person],
    responded: dict[int, set[str]],
) -> str:
    """`people`: the recipients of the open rows, loaded at once; `responded`: the member States that responded,
    by stage, filled as needed (a stage that completes cancels every row it had: no query per row)."""

    def codes() -> set[str]:
        if row.stage_id not in responded:
            responded[row.stage_id] = responded_codes(session, stage)
        return responded[row.stage_id]

    return (
        why_not_owed(
            stage,
            people.get(row.person_id),
            start_notice=row.rule is ReminderRule.START,
            responded=codes,
            gate_reason=lambda: gate_met_reason(GateAt(session, process, stage).status(max(row.send_at, now))),
        )
        or "no longer planned"
    )


def _rearmed(want: Planned, done_for: list[date]) -> bool:
    """May `want` go although its reminder already went (or failed, or was skipped) for an earlier deadline?
    Only once the deadline has moved later by at least the reminder's own distance from it: after an extension
    from 31 March to 30 April, "14 days left" and "7 days left" come again before 30 April; a move by one day
    re-sends only "due today". Never twice for the same deadline, and never for a deadline moved earlier."""
    if want.rule is ReminderRule.START or not done_for:
        return not done_for
    return all((want.due_date_seen - seen).days >= max(abs(want.offset_days), 1) for seen in done_for)


def replan(session: Session, process: Process, now: datetime) -> ReplanResult:
    """Bring the pending rows of `process` in line with its timeline, responses and directory; tell the people
    invited to a meeting that changed (notifications/reminders/invitations.py)."""
    result = ReplanResult()
    result.announced = announce_changes(session, process, now)
    wanted = desired_rows(session, process, now)
    stages = {s.id: s for s in stages_of(session, process) if s.id is not None}
    wanting = list({want.stage_id for want in wanted.values()})
    # Only rows that can still change are loaded: every pending one (a pending row nobody wants is cancelled),
    # and cancelled ones of stages that want rows (they may be revived). Sent, failed and skipped rows are
    # history, which only grows: only its keys and deadlines are read, and only for the stages that want rows,
    # so a change costs the same after a million.
    # Locking the rows makes a concurrent sweep skip them (SKIP LOCKED) instead of sending what is being changed.
    # Two queries, not one with OR: each can then use its index (status, send_at) and (stage_id).
    # Digests, invitations and their updates are queued by acts, and notices by notices.py: never re-planned here.
    not_digest = col(Reminder.rule).not_in([ReminderRule.DIGEST, ReminderRule.NOTICE, *MEETING_MAIL_RULES])
    pending = session.exec(
        select(Reminder)
        .where(col(Reminder.status) == ReminderStatus.PENDING, col(Reminder.stage_id).in_(list(stages)), not_digest)
        .with_for_update()
    ).all()
    revivable = (
        session.exec(
            select(Reminder)
            .where(col(Reminder.stage_id).in_(wanting), not_digest, col(Reminder.status) == ReminderStatus.CANCELLED)
            .with_for_update()
        ).all()
        if wanting
        else []
    )
    done_for: dict[Key, list[date]] = {}  # the deadlines each key's history rows were planned for
    if wanting:
        for stage_id, person_id, rule, occurrence, seen in select_rows(
            session,
            select_columns(
                col(Reminder.stage_id),
                col(Reminder.person_id),
                col(Reminder.rule),
                col(Reminder.occurrence),
                col(Reminder.due_date_seen),
            ).where(
                col(Reminder.stage_id).in_(wanting),
                not_digest,
                col(Reminder.status).not_in([ReminderStatus.PENDING, ReminderStatus.CANCELLED]),
            ),
        ).all():
            done_for.setdefault((stage_id, person_id, rule, occurrence), []).append(seen)
    # Change notices: whoever still owes and was last told another deadline, or still had reminders coming for
    # a stage just skipped or completed early, is told once; a reminder on the notice's day says nothing more.
    result.notices = notices.queue(
        session,
        notices.due_notices(session, process, stages, {(w.stage_id, w.person_id) for w in wanted.values()}, pending),
        now,
    )
    if told_on := notices.notice_days(session, process, wanting):
        wanted = {
            key: want
            for key, want in wanted.items()
            if "day" not in want.details
            or not notices.redundant(
                told_on,
                want.stage_id,
                want.person_id,
                want.rule,
                want.due_date_seen,
                date.fromisoformat(want.details["day"]),
            )
        }
    wanted = {key: want for key, want in wanted.items() if _rearmed(want, done_for.get(key, []))}

    # Of the open rows of a key, the one planned for the current deadline is reused first (the key with its
    # deadline is unique), then a pending one, then a cancelled one; every other pending row is cancelled.
    open_rows: dict[Key, list[Reminder]] = {}
    for row in [*pending, *revivable]:
        open_rows.setdefault((row.stage_id, row.person_id, row.rule, row.occurrence), []).append(row)
    responded: dict[int, set[str]] = {}
    people = (
        by_id(session.exec(select(Person).where(col(Person.id).in_({r.person_id for r in pending})))) if pending else {}
    )
    for key, rows in open_rows.items():
        want = wanted.pop(key, None)
        chosen = None
        if want is not None:
            chosen = min(
                rows,
                key=lambda r: (
                    r.due_date_seen != want.due_date_seen,
                    r.status is not ReminderStatus.PENDING,
                    r.id or 0,
                ),
            )
            revived = chosen.status is ReminderStatus.CANCELLED
            if revived or chosen.send_at != want.send_at or chosen.cc != want.cc:
                result.moved += 1
            # A pending row between two tries keeps what its tries learnt (who already has the message, who
            # refused it, when to try again); a revived row, or one now about another deadline, starts afresh.
            same_message = not revived and chosen.due_date_seen == want.due_date_seen
            kept = {k: v for k, v in chosen.details.items() if k in RETRY_DETAILS} if same_message else {}
            fresh = {
                "status": ReminderStatus.PENDING,
                "send_at": want.send_at,
                "offset_days": want.offset_days,
                "cc": want.cc,
                "due_date_seen": want.due_date_seen,
                "details": {**want.details, **kept},
            }
            if not same_message:
                fresh |= {"next_attempt_at": None, "last_error": None}
            for name, value in fresh.items():
                # Only what differs: most re-plans change nothing, and setting a table model's attribute costs
                # (tens of thousands of rows after a large directory import).
                if getattr(chosen, name) != value:
                    setattr(chosen, name, value)
        for row in rows:
            if row is not chosen and row.status is ReminderStatus.PENDING:
                row.status = ReminderStatus.CANCELLED
                row.details = {
                    **row.details,
                    "cancelled_at": now.astimezone(UTC).isoformat(),
                    "why": _why_unwanted(session, process, stages[row.stage_id], row, now, people, responded),
                }
                result.cancelled += 1
    session.flush()
    if wanted:
        # One INSERT, a parameter set per row: an ORM object per reminder costs a quarter of a millisecond, which
        # a directory import that brings thousands of focal points would feel.
        session.connection().execute(
            table_of(Reminder).insert(),
            [
                {
                    "stage_id": want.stage_id,
                    "person_id": want.person_id,
                    "rule": want.rule,
                    "occurrence": want.occurrence,
                    "offset_days": want.offset_days,
                    "send_at": want.send_at,
                    "due_date_seen": want.due_date_seen,
                    "status": ReminderStatus.PENDING,
                    "cc": want.cc,
                    "details": want.details,
                }
                for want in wanted.values()
            ],
        )
        result.added = len(wanted)
    return result


def replan_all(session: Session, now: datetime) -> ReplanResult:
    """Every process, each under its lock (queries.lock_process) as a transition would take it, so a directory
    import re-plans after, not alongside, a transition of another replica."""
    total = ReplanResult()
    for key in session.exec(select(Process.key).order_by(col(Process.id))).all():
        part = replan(session, lock_process(session, key), now)
        total.added, total.moved, total.cancelled, total.announced, total.notices = (
            total.added + part.added,
            total.moved + part.moved,
            total.cancelled + part.cancelled,
            total.announced + part.announced,
            total.notices + part.notices,
        )
    return total


def replan_key(session: Session, process_key: str, now: datetime) -> ReplanResult:
    return replan(session, get_process(session, process_key), now)
