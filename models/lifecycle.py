"""The stage state machine: start, advance, skip, and the member-State responses and meetings it depends on.

Every function changes rows in the caller's transaction and writes its audit entry there too, so a refusal
(an exception) leaves the database exactly as it was once the caller rolls back. Each one begins by locking the
process (queries.lock_process), so concurrent transitions of one process, from any replica, run one after another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from config.settings import get_settings
from models import limits
from models.audit import AuditEntry, record
from models.directory import MemberState
from models.enums import Role, StageState
from models.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from models.gates import GateInputs, GateStatus, evaluate_gate
from models.process import Meeting, Process, Stage
from models.queries import (
    get_member_state,
    get_person,
    get_stage,
    lock_process,
    responded_codes,
    stages_of,
)
from models.response import Response, WithdrawnResponse
from models.text import check_plain


def snapshot(stage: Stage) -> dict[str, Any]:
    return {
        "state": stage.state.value,
        "start": stage.start_date.isoformat(),
        "end": stage.end_date.isoformat(),
        "due": stage.due_date.isoformat(),
        "tentative": stage.tentative,
        "version": stage.version,
    }


def touch(row: Stage | Meeting, now: datetime) -> None:
    """Every change bumps the version: the optimistic lock, and the calendar SEQUENCE."""
    row.version += 1
    row.modified_at = now


def changed(
    session: Session,
    process: Process,
    row: Stage | Meeting,
    *,
    actor: str,
    now: datetime,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """A stage or meeting changed: its version is bumped and the change audited, in the same transaction."""
    touch(row, now)
    record(
        session,
        at=now,
        actor=actor,
        action=action,
        process_key=process.key,
        stage_key=row.key,
        before=before,
        after=after,
        reason=reason,
    )


def _not_blank(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise InvalidInput(f"{what} is required")
    return check_plain(value.strip(), what, multiline=True)


def _plain(value: str | None, what: str, *, multiline: bool = True) -> None:
    """Free text given to a rule (a reason, a note) holds no control characters (models/text.py), whichever face
    it came through: the forms and the API check it first, the command line relies on this."""
    if value is not None:
        check_plain(value, what, multiline=multiline)


@dataclass
class AdvanceResult:
    stage: Stage
    gate: GateStatus
    started: list[str] = field(default_factory=list)
    overridden: bool = False


def _blocking_predecessors(session: Session, process: Process, stage: Stage) -> list[Stage]:
    by_key = {s.key: s for s in stages_of(session, process)}
    return [by_key[k] for k in stage.depends_on if by_key[k].is_open]


def _decision_date_problem(process: Process, stage: Stage, decided_on: date | None, now: datetime) -> str | None:
    """A decision is recorded once taken: its date is neither in the future (the business clock, in the process's
    zone) nor before the stage started. None when the date is right (or none is given)."""
    if decided_on is None:
        return None
    zone = ZoneInfo(process.timezone)
    today = now.astimezone(zone).date()
    if decided_on > today:
        return f"the decision date {limits.long_date(decided_on)} is in the future (today is {limits.long_date(today)})"
    started = stage.started_at.astimezone(zone).date() if stage.started_at else stage.start_date
    if decided_on < started:
        return (
            f"the decision date {limits.long_date(decided_on)} is before the stage started "
            f"({limits.long_date(started)})"
        )
    return None


def start_stage(
    session: Session, process_key: str, stage_key: str, *, actor: str, now: datetime, override_reason: str | None = None
) -> Stage:
    _plain(override_reason, "the reason to override")
    process = lock_process(session, process_key)
    stage = get_stage(session, process, stage_key, for_update=True)
    if stage.state is not StageState.PLANNED:
        raise TransitionRefused(f"stage {stage.key} is already {stage.state.value}; only a planned stage starts")
    blocking = _blocking_predecessors(session, process, stage)
    if blocking and not (override_reason and override_reason.strip()):
        names = ", ".join(f"{s.key} ({s.state.value})" for s in blocking)
        raise TransitionRefused(
            f"cannot start {stage.key}: it depends on {names}; complete those first or override with a reason"
        )
    before = snapshot(stage)
    stage.state, stage.started_at = StageState.ACTIVE, now
    if blocking:
        stage.override_reason = override_reason
    changed(
        session,
        process,
        stage,
        actor=actor,
        now=now,
        action="stage.start" if not blocking else "stage.start.override",
        before=before,
        after=snapshot(stage),
        reason=override_reason if blocking else None,
    )
    return stage


def advance_stage(
    session: Session,
    process_key: str,
    stage_key: str,
    *,
    actor: str,
    now: datetime,
    inputs: GateInputs | None = None,
    override_reason: str | None = None,
    start_next: bool = True,
) -> AdvanceResult:
    """Complete an active stage whose gate is met (or overridden with a reason), then start what it unblocks."""
    inputs = inputs or GateInputs()
    for value, what in (
        (inputs.note, "the approval note"),
        (inputs.decision_text, "the decision text"),
        (inputs.proceed_reason, "the reason to proceed"),
        (override_reason, "the reason to override"),
    ):
        _plain(value, what)
    process = lock_process(session, process_key)
    stage = get_stage(session, process, stage_key, for_update=True)
    if stage.state is StageState.COMPLETED:
        when = f" on {stage.completed_at:%Y-%m-%d %H:%M} UTC" if stage.completed_at else ""
        raise Conflict(f"stage {stage.key} was already advanced{when}")
    if stage.state is not StageState.ACTIVE:
        raise TransitionRefused(f"stage {stage.key} is {stage.state.value}; start it before advancing it")
    if inputs.approver:
        approver = get_person(session, inputs.approver)
        if approver.role is not Role.SECRETARIAT:
            raise InvalidInput(f"{approver.email} is not a member of the secretariat and cannot approve")
        _not_blank(inputs.note, "an approval note")
    if inputs.decision_text is not None or inputs.decision_date is not None:
        _not_blank(inputs.decision_text, "the decision text")
        if inputs.decision_date is None:
            raise InvalidInput("the decision date is required")
        limits.range_of(stages_of(session, process)).check(inputs.decision_date, "the decision date")
    has_override = bool(override_reason and override_reason.strip())
    date_problem = _decision_date_problem(process, stage, inputs.decision_date, now)
    if date_problem and not has_override:
        raise InvalidInput(f"{date_problem}; give an override with a reason if it is right")
    gate = evaluate_gate(session, process, stage, now, inputs)
    overridden = bool(date_problem)
    if not gate.met:
        if not has_override:
            raise TransitionRefused(f"cannot advance {stage.key}: {gate.summary}")
        overridden = True
    before = snapshot(stage)
    stage.state, stage.completed_at = StageState.COMPLETED, now
    if inputs.approver:
        stage.approved_by, stage.approval_note = get_person(session, inputs.approver).email, inputs.note
    if inputs.decision_text:
        stage.decision_text, stage.decision_date = inputs.decision_text.strip(), inputs.decision_date
    if inputs.proceed_reason and not overridden:
        stage.proceed_reason = inputs.proceed_reason
    if overridden:
        stage.override_reason = override_reason
    changed(
        session,
        process,
        stage,
        actor=actor,
        now=now,
        action="stage.advance.override" if overridden else "stage.advance",
        before=before,
        after={
            **snapshot(stage),
            "gate": gate.summary,
            "approved_by": stage.approved_by,
            "decision": stage.decision_text,
            **({"decision_date_overridden": date_problem} if date_problem else {}),
        },
        reason=override_reason if overridden else (inputs.proceed_reason or inputs.note),
    )
    started: list[str] = []
    if start_next:  # a successor now ready starts at once if its window has opened; else the sweep opens it
        for successor in stages_of(session, process):
            if (
                stage.key in successor.depends_on
                and successor.state is StageState.PLANNED
                and not _blocking_predecessors(session, process, successor)
                and opening_at(process, successor) <= now
            ):
                start_stage(session, process.key, successor.key, actor=actor, now=now)
                started.append(successor.key)
    return AdvanceResult(stage, gate, started, overridden)


OPENED_BY = "consultrack (the stage's window opened)"
"""The actor of a start made by the sweep when a ready stage's window opens."""


def opening_at(process: Process, stage: Stage) -> datetime:
    """When a ready stage starts by itself: the local morning (the reminders' hour) of its first day, in the
    process's zone."""
    hour = get_settings().reminder_local_hour
    return datetime.combine(stage.start_date, time(hour), tzinfo=ZoneInfo(process.timezone)).astimezone(UTC)


def ready_stages(session: Session, process: Process) -> list[Stage]:
    """Planned stages that follow others, all of them done (completed or skipped): ready to start."""
    by_key = {s.key: s for s in stages_of(session, process)}
    return [
        s
        for s in by_key.values()
        if s.state is StageState.PLANNED and s.depends_on and not any(by_key[k].is_open for k in s.depends_on)
    ]


def next_opening(session: Session, until: datetime) -> datetime | None:
    """The earliest moment, up to `until`, at which a ready stage of any process opens (for the sweep and a
    replayed clock); None when there is none."""
    moments = [
        opening_at(process, stage)
        for process in session.exec(select(Process)).all()
        for stage in ready_stages(session, process)
    ]
    due = [m for m in moments if m <= until]
    return min(due) if due else None


def open_ready_stages(session: Session, process_key: str, *, now: datetime) -> list[str]:
    """Start every ready stage of the process whose window has opened (audited `stage.start` by OPENED_BY)."""
    process = lock_process(session, process_key)
    opened = []
    for stage in ready_stages(session, process):
        if opening_at(process, stage) <= now:
            start_stage(session, process.key, stage.key, actor=OPENED_BY, now=now)
            opened.append(stage.key)
    return opened


def skip_stage(session: Session, process_key: str, stage_key: str, *, actor: str, now: datetime, reason: str) -> Stage:
    reason = _not_blank(reason, "a reason to skip a stage")
    process = lock_process(session, process_key)
    stage = get_stage(session, process, stage_key, for_update=True)
    if not stage.is_open:
        raise TransitionRefused(f"stage {stage.key} is {stage.state.value}; only a planned or active stage is skipped")
    before = snapshot(stage)
    stage.state = StageState.SKIPPED
    changed(
        session,
        process,
        stage,
        actor=actor,
        now=now,
        action="stage.skip",
        before=before,
        after=snapshot(stage),
        reason=reason,
    )
    return stage


def record_response(
    session: Session,
    process_key: str,
    stage_key: str,
    member_state: str,
    *,
    received_on: date | None = None,
    actor: str,
    now: datetime,
    channel: str = "e-mail",
    note: str = "",
    link: str | None = None,
) -> Response:
    """`received_on` defaults to today in the process's zone by the business clock of whoever records it (the
    service's, when a CLI command goes through it)."""
    _plain(channel, "the channel", multiline=False)
    _plain(note, "the note")
    _plain(link, "the link", multiline=False)
    process = lock_process(session, process_key)
    stage = get_stage(session, process, stage_key, for_update=True)
    state = get_member_state(session, member_state)
    if not stage.owes_responses:
        raise InvalidInput(f"stage {stage.key} asks nothing of member States")
    if stage.state in (StageState.PLANNED, StageState.SKIPPED):
        raise TransitionRefused(f"stage {stage.key} is {stage.state.value}: it takes no responses")
    if received_on is None:
        received_on = now.astimezone(ZoneInfo(process.timezone)).date()
    _check_received_on(process, session, received_on, now)
    if link is not None and link.strip() and not link.strip().lower().startswith(("https://", "http://")):
        raise InvalidInput("a link must be an http(s) address")
    assert stage.id is not None  # a stored row
    existing = session.exec(
        select(Response).where(Response.stage_id == stage.id, Response.member_state_code == state.code)
    ).first()
    if existing is not None:
        raise Conflict(f"{state.name} already responded to {stage.key} (received {existing.received_on})")
    response = Response(
        stage_id=stage.id,
        member_state_code=state.code,
        received_on=received_on,
        channel=_not_blank(channel, "the channel"),
        note=note.strip(),
        link=(link or "").strip() or None,
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(response)
    changed(
        session,
        process,
        stage,
        actor=actor,
        now=now,
        action="response.record",
        after={
            "member_state": state.code,
            "received_on": received_on.isoformat(),
            "channel": response.channel,
            "note": response.note,
            "link": response.link,
        },
    )
    return response


def _response_of(session: Session, stage: Stage, state: MemberState) -> Response:
    assert stage.id is not None  # a stored row
    found = session.exec(
        select(Response).where(Response.stage_id == stage.id, Response.member_state_code == state.code)
    ).first()
    if found is None:
        raise NotFound(f"no response from {state.in_text} to {stage.key} is recorded")
    return found


def _response_fields(response: Response) -> dict[str, Any]:
    return {
        "member_state": response.member_state_code,
        "received_on": response.received_on.isoformat(),
        "channel": response.channel,
        "note": response.note,
        "link": response.link,
    }


def _check_received_on(process: Process, session: Session, received_on: date, now: datetime) -> None:
    today = now.astimezone(ZoneInfo(process.timezone)).date()
    if received_on > today:
        raise InvalidInput(f"received on {received_on} is in the future (today is {today} in {process.timezone})")
    limits.range_of(stages_of(session, process)).check(received_on, "the date received")


def correct_response(
    session: Session,
    process_key: str,
    stage_key: str,
    member_state: str,
    *,
    actor: str,
    now: datetime,
    reason: str,
    received_on: date | None = None,
    channel: str | None = None,
    note: str | None = None,
) -> Response:
    """Correct a recorded response's date, channel or note, with a reason; the audit keeps what it said before."""
    reason = _not_blank(reason, "a reason to correct a response")
    _plain(channel, "the channel", multiline=False)
    _plain(note, "the note")
    process = lock_process(session, process_key)
    stage = get_stage(session, process, stage_key, for_update=True)
    state = get_member_state(session, member_state)
    response = _response_of(session, stage, state)
    before = _response_fields(response)
    if received_on is not None:
        _check_received_on(process, session, received_on, now)
        response.received_on = received_on
    if channel is not None:
        response.channel = _not_blank(channel, "the channel")
    if note is not None:
        response.note = note.strip()
    after = _response_fields(response)
    if after == before:
        raise InvalidInput("nothing to correct: give a new date received, channel or note")
    changed(
        session,
        process,
        stage,
        actor=actor,
        now=now,
        action="response.correct",
        before=before,
        after={**after, "summary": f"Response from {state.name} corrected"},
        reason=reason,
    )
    return response


def withdraw_response(
    session: Session,
    process_key: str,
    stage_key: str,
    member_state: str,
    *,
    actor: str,
    now: datetime,
    reason: str,
) -> WithdrawnResponse:
    """Withdraw a recorded response, with a reason: it is kept among the withdrawn ones, and the State owes the stage
    again (its reminders come back when the caller re-plans). Refused once the stage is completed: undo the advance
    first, or the gate it opened would stand on a response no longer there."""
    reason = _not_blank(reason, "a reason to withdraw a response")
    process = lock_process(session, process_key)
    stage = get_stage(session, process, stage_key, for_update=True)
    state = get_member_state(session, member_state)
    response = _response_of(session, stage, state)
    if stage.state is not StageState.ACTIVE:
        raise TransitionRefused(
            f"stage {stage.key} is {stage.state.value}: a response is withdrawn only while the stage is active"
        )
    assert response.id is not None
    kept = WithdrawnResponse(**response.model_dump(exclude={"id"}), withdrawn_by=actor, withdrawn_at=now, reason=reason)
    before = _response_fields(response)
    session.delete(response)
    session.add(kept)
    changed(
        session,
        process,
        stage,
        actor=actor,
        now=now,
        action="response.withdraw",
        before=before,
        after={"member_state": state.code, "summary": f"Response from {state.name} withdrawn: {reason}"},
        reason=reason,
    )
    return kept


def undo_advance(
    session: Session, process_key: str, stage_key: str, *, actor: str, now: datetime, reason: str
) -> list[str]:
    """Undo an advance made in error: the same day (in the process's zone), by whoever made it, with a reason, while
    nothing has happened in the stages it started (no response recorded, none advanced or skipped). The stage is
    active again and those successors planned again, each audited `stage.start.undo` (the seam for a "started in
    error" notice to those told it had begun). Returns the keys of the successors put back."""
    reason = _not_blank(reason, "a reason to undo an advance")
    process = lock_process(session, process_key)
    stage = get_stage(session, process, stage_key, for_update=True)
    if stage.state is not StageState.COMPLETED or stage.completed_at is None:
        raise TransitionRefused(f"stage {stage.key} is {stage.state.value}: only a completed stage's advance is undone")
    zone = ZoneInfo(process.timezone)
    if stage.completed_at.astimezone(zone).date() != now.astimezone(zone).date():
        raise TransitionRefused(
            f"stage {stage.key} was advanced on {limits.long_date(stage.completed_at.astimezone(zone).date())}: "
            "an advance is undone only the same day"
        )
    last = session.exec(
        select(AuditEntry)
        .where(
            AuditEntry.process_key == process.key,
            AuditEntry.stage_key == stage.key,
            col(AuditEntry.action).in_(("stage.advance", "stage.advance.override")),
        )
        .order_by(col(AuditEntry.id).desc())
    ).first()
    if last is None or last.actor != actor:
        who = last.actor if last else "someone else"
        raise TransitionRefused(f"stage {stage.key} was advanced by {who}: only they may undo it")
    successors = [
        s
        for s in stages_of(session, process)
        if stage.key in s.depends_on and s.started_at is not None and s.started_at >= stage.completed_at
    ]
    for successor in successors:
        if successor.state is not StageState.ACTIVE:
            raise TransitionRefused(
                f"cannot undo the advance of {stage.key}: {successor.key} has since been {successor.state.value}"
            )
        if responded_codes(session, successor):
            raise TransitionRefused(
                f"cannot undo the advance of {stage.key}: responses to {successor.key} are already recorded"
            )
    put_back: list[str] = []
    for successor in successors:
        before = snapshot(successor)
        successor.state, successor.started_at = StageState.PLANNED, None
        changed(
            session,
            process,
            successor,
            actor=actor,
            now=now,
            action="stage.start.undo",
            before=before,
            after={**snapshot(successor), "summary": f"{successor.name} started in error"},
            reason=reason,
        )
        put_back.append(successor.key)
    before = snapshot(stage)
    was_override = last.action == "stage.advance.override"
    stage.state, stage.completed_at = StageState.ACTIVE, None
    stage.approved_by = stage.approval_note = stage.decision_text = stage.proceed_reason = None
    stage.decision_date = None
    if was_override:
        stage.override_reason = None
    changed(
        session,
        process,
        stage,
        actor=actor,
        now=now,
        action="stage.advance.undo",
        before=before,
        after={**snapshot(stage), "put_back": put_back},
        reason=reason,
    )
    return put_back
