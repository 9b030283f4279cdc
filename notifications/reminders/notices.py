"""Change notices: told once, at the next sweep, to each person who still owes something when the timeline
changes under them. Planned while the reminders are re-planned (planner.replan, after every operation), by
comparing what each person was last told (`Reminder.due_date_seen` of the last row sent to them) with the
stage as it stands; the flows need not say what changed.

Kinds (a row's `details["kind"]`):
- `moved`: the deadline of an active stage is not the one the person was last told (later or earlier);
- `skipped`: the stage was skipped while they still had reminders coming;
- `completed`: the stage was completed before its deadline while they still had reminders coming;
- `started_in_error`: an advance was undone and the stage they were told had begun has not
  (`plan_started_in_error`, for the undo flow to call).

A notice names the reason the secretariat gave (the audit entry of the change), copied into the row so the
message says it whatever happens later. A notice makes a reminder for the same deadline on the same local day
redundant (`redundant`): one e-mail, not two."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from models.audience import own_zone
from models.audit import AuditEntry
from models.directory import MemberState, Person
from models.enums import ReminderRule, ReminderStatus, StageState
from models.process import Process, Stage
from models.queries import deadline_at, select_rows
from models.reminder import Reminder
from models.types import table_of

MOVED, SKIPPED, COMPLETED, STARTED_IN_ERROR = "moved", "skipped", "completed", "started_in_error"
KINDS = (MOVED, SKIPPED, COMPLETED, STARTED_IN_ERROR)
REASON_ACTIONS = {
    MOVED: ("stage.reschedule",),
    SKIPPED: ("stage.skip",),
    COMPLETED: ("stage.advance", "stage.advance.override"),
}
TOLD = (ReminderRule.START, ReminderRule.BEFORE, ReminderRule.OVERDUE, ReminderRule.ESCALATION, ReminderRule.NOTICE)
REMINDING = (ReminderRule.BEFORE, ReminderRule.OVERDUE, ReminderRule.ESCALATION)


@dataclass(frozen=True)
class Notice:
    stage_id: int
    person_id: int
    kind: str
    due: date
    told: date
    reason: str


def _reason(session: Session, process: Process, stage: Stage, kind: str) -> str:
    """The reason the secretariat gave for the latest change of this kind to the stage."""
    actions = REASON_ACTIONS.get(kind, ())
    entry = session.exec(
        select(AuditEntry)
        .where(
            AuditEntry.process_key == process.key,
            AuditEntry.stage_key == stage.key,
            col(AuditEntry.action).in_(actions),
        )
        .order_by(col(AuditEntry.id).desc())
        .limit(1)
    ).first()
    return (entry.reason or "").strip() if entry else ""


def _last_told(session: Session, stage_ids: list[int]) -> dict[tuple[int, int], date]:
    """The deadline each person was last told about each stage (the row sent last), and pending notices."""
    told: dict[tuple[int, int], tuple[datetime, int, date]] = {}
    if not stage_ids:
        return {}
    status = col(Reminder.status)
    for stage_id, person_id, seen, sent_at, send_at, row_id, state in select_rows(
        session,
        select_columns(
            col(Reminder.stage_id),
            col(Reminder.person_id),
            col(Reminder.due_date_seen),
            col(Reminder.sent_at),
            col(Reminder.send_at),
            col(Reminder.id),
            status,
        ).where(
            col(Reminder.stage_id).in_(stage_ids),
            col(Reminder.rule).in_(TOLD),
            (status == ReminderStatus.SENT)
            | (
                (col(Reminder.rule) == ReminderRule.NOTICE)
                & status.in_([ReminderStatus.PENDING, ReminderStatus.SENDING])
            ),
        ),
    ).all():
        # A notice waiting to go counts as told: it will be, at the next sweep.
        moment = sent_at if state is ReminderStatus.SENT and sent_at is not None else send_at
        key = (stage_id, person_id)
        if key not in told or (moment, row_id or 0) > told[key][:2]:
            told[key] = (moment, row_id or 0, seen)
    return {key: value[2] for key, value in told.items()}


def _completed_early(stage: Stage, process: Process) -> bool:
    return (
        stage.state is StageState.COMPLETED
        and stage.completed_at is not None
        and stage.completed_at < deadline_at(stage, process)
    )


def due_notices(
    session: Session,
    process: Process,
    stages: dict[int, Stage],
    owing: Iterable[tuple[int, int]],
    pending: Iterable[Reminder],
) -> list[Notice]:
    """The notices the timeline calls for now. `owing`: (stage, person) of every reminder the planner wants
    (who still owes something for an active stage); `pending`: the reminder rows still pending before this
    re-plan (whoever still had reminders coming for a stage that has just been skipped or completed)."""
    owing = set(owing)
    ended: set[tuple[int, int]] = set()
    for row in pending:
        stage = stages.get(row.stage_id)
        ending = stage is not None and (stage.state is StageState.SKIPPED or _completed_early(stage, process))
        if row.rule in REMINDING and ending:
            ended.add((row.stage_id, row.person_id))
    active = {sid for sid, person in owing if stages[sid].state is StageState.ACTIVE}
    told = _last_told(session, sorted(active | {sid for sid, _ in ended}))
    already = _notice_kinds(session, sorted({sid for sid, _ in ended}))
    notices: list[Notice] = []
    reasons: dict[tuple[int, str], str] = {}

    def reason(stage: Stage, kind: str) -> str:
        assert stage.id is not None
        if (stage.id, kind) not in reasons:
            reasons[stage.id, kind] = _reason(session, process, stage, kind)
        return reasons[stage.id, kind]

    for sid, person in sorted(owing):
        stage = stages[sid]
        was = told.get((sid, person))
        if stage.state is StageState.ACTIVE and was is not None and was != stage.due_date:
            notices.append(Notice(sid, person, MOVED, stage.due_date, was, reason(stage, MOVED)))
    for sid, person in sorted(ended):
        stage = stages[sid]
        kind = SKIPPED if stage.state is StageState.SKIPPED else COMPLETED
        was = told.get((sid, person))
        if was is None or kind in already.get((sid, person), set()):
            continue  # never told of the stage, or already told it ended
        notices.append(Notice(sid, person, kind, stage.due_date, was, reason(stage, kind)))
    return notices


def _notice_kinds(session: Session, stage_ids: list[int]) -> dict[tuple[int, int], set[str]]:
    kinds: dict[tuple[int, int], set[str]] = {}
    if not stage_ids:
        return kinds
    for row in session.exec(
        select(Reminder).where(
            col(Reminder.stage_id).in_(stage_ids),
            Reminder.rule == ReminderRule.NOTICE,
            col(Reminder.status) != ReminderStatus.CANCELLED,
        )
    ).all():
        kinds.setdefault((row.stage_id, row.person_id), set()).add(str(row.details.get("kind", "")))
    return kinds


def queue(session: Session, notices: list[Notice], now: datetime) -> int:
    """Store `notices` as rows due now; a pending notice about an older change of the same stage to the same
    person is cancelled (the new one says where things stand). Returns how many were queued."""
    if not notices:
        return 0
    stage_ids = sorted({n.stage_id for n in notices})
    people = {n.person_id for n in notices}
    counts: dict[tuple[int, int], int] = {}
    for stage_id, person_id, highest in select_rows(
        session,
        select_columns(col(Reminder.stage_id), col(Reminder.person_id), func.max(col(Reminder.occurrence)))
        .where(
            col(Reminder.stage_id).in_(stage_ids),
            col(Reminder.person_id).in_(people),
            col(Reminder.rule) == ReminderRule.NOTICE,
        )
        .group_by(col(Reminder.stage_id), col(Reminder.person_id)),
    ).all():
        counts[stage_id, person_id] = int(highest)
    waiting = session.exec(
        select(Reminder).where(
            col(Reminder.stage_id).in_(stage_ids),
            col(Reminder.person_id).in_(people),
            Reminder.rule == ReminderRule.NOTICE,
            Reminder.status == ReminderStatus.PENDING,
        )
    ).all()
    for row in waiting:
        row.status = ReminderStatus.CANCELLED
        row.details = {**row.details, "cancelled_at": now.astimezone(UTC).isoformat(), "why": "a later change"}
    session.flush()
    values: list[dict[str, Any]] = []
    for notice in notices:
        occurrence = counts.get((notice.stage_id, notice.person_id), 0) + 1
        counts[notice.stage_id, notice.person_id] = occurrence
        values.append(
            {
                "stage_id": notice.stage_id,
                "person_id": notice.person_id,
                "rule": ReminderRule.NOTICE,
                "occurrence": occurrence,
                "offset_days": 0,
                "send_at": now,
                "due_date_seen": notice.due,
                "status": ReminderStatus.PENDING,
                "cc": [],
                "details": {
                    "kind": notice.kind,
                    "from": notice.told.isoformat(),
                    "to": notice.due.isoformat(),
                    "reason": notice.reason,
                },
            }
        )
    session.connection().execute(table_of(Reminder).insert(), values)
    return len(values)


def notice_days(session: Session, process: Process, stage_ids: list[int]) -> dict[tuple[int, int, date], date]:
    """(stage, person, deadline) -> the recipient's local day of each notice pending or sent."""
    found: dict[tuple[int, int, date], date] = {}
    if not stage_ids:
        return found
    rows = session.exec(
        select(Reminder, Person).where(
            col(Reminder.stage_id).in_(stage_ids),
            Reminder.rule == ReminderRule.NOTICE,
            col(Reminder.status).in_([ReminderStatus.PENDING, ReminderStatus.SENDING, ReminderStatus.SENT]),
            Reminder.person_id == Person.id,
        )
    ).all()
    states = {m.code: m for m in session.exec(select(MemberState)).all()} if rows else {}
    for row, person in rows:
        if row.details.get("kind") != MOVED:
            continue
        zone = own_zone(person, states.get(person.member_state_code or "")) or process.timezone
        found[row.stage_id, row.person_id, row.due_date_seen] = row.send_at.astimezone(ZoneInfo(zone)).date()
    return found


def redundant(
    days: dict[tuple[int, int, date], date], stage_id: int, person_id: int, rule: ReminderRule, due: date, day: date
) -> bool:
    """A reminder on the local `day` of a notice about the same deadline says nothing the notice did not."""
    return rule in (ReminderRule.BEFORE, ReminderRule.OVERDUE) and days.get((stage_id, person_id, due)) == day


def plan_started_in_error(session: Session, process: Process, stage: Stage, *, now: datetime, reason: str) -> int:
    """For the undo of an advance: everyone who was sent the start notice of `stage` is told, once, at the next
    sweep, that it has not begun after all (with `reason`). Call it in the undo's transaction, after the stage
    is back to planned and before the re-plan (which cancels its pending reminders). Returns how many."""
    assert stage.id is not None
    told = session.exec(
        select(Reminder.person_id).where(
            Reminder.stage_id == stage.id,
            Reminder.rule == ReminderRule.START,
            Reminder.status == ReminderStatus.SENT,
        )
    ).all()
    return queue(
        session,
        [
            Notice(stage.id, person, STARTED_IN_ERROR, stage.due_date, stage.due_date, reason)
            for person in sorted(set(told))
        ],
        now,
    )
