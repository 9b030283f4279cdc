"""Gates: what must be true before a stage may be completed, and exactly what is still missing."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from models.directory import MemberState
from models.enums import GateKind, MeetingStatus
from models.limits import long_date
from models.process import Meeting, Process, Stage
from models.queries import deadline_at, get_meeting, meeting_bounds, member_states, responded_codes


@dataclass(frozen=True)
class Check:
    label: str
    done: bool
    detail: str = ""


@dataclass(frozen=True)
class GateInputs:
    """What the person advancing a stage supplies: an approval, a decision, a reason to proceed."""

    approver: str | None = None
    note: str | None = None
    decision_text: str | None = None
    decision_date: date | None = None
    proceed_reason: str | None = None


@dataclass
class GateStatus:
    kind: GateKind
    met: bool
    checks: list[Check] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    may_proceed: bool = False
    """responses gate only: the deadline has passed, so the secretariat may decide to go on without all."""

    @property
    def summary(self) -> str:
        if self.met:
            return "met"
        return "; ".join(self.missing)


def describe_gate(stage: Stage) -> str:
    """The gate in a few words, for stages not yet under way."""
    if stage.gate_kind is GateKind.MANUAL:
        return "approval by the secretariat"
    if stage.gate_kind is GateKind.RESPONSES:
        quorum = stage.gate_rule.quorum
        return f"responses from {quorum} member States" if quorum else "responses from all member States"
    if stage.gate_kind is GateKind.MEETING_HELD:
        return stage.gate_rule.label or "its meeting recorded held"
    return f"decision: {stage.gate_rule.label or 'recorded'}"


def evaluate_gate(
    session: Session, process: Process, stage: Stage, now: datetime, inputs: GateInputs | None = None
) -> GateStatus:
    """What the database holds, put to the gate's rule (the rules below are pure: they are tested without one)."""
    inputs = inputs or GateInputs()
    kind = stage.gate_kind
    if kind is GateKind.MANUAL:
        return manual_gate(stage, inputs)
    if kind is GateKind.RESPONSES:
        return responses_gate(stage, process, member_states(session), responded_codes(session, stage), now, inputs)
    if kind is GateKind.MEETING_HELD:
        meeting_key = stage.gate_rule.meeting
        assert meeting_key is not None  # a meeting_held gate names its meeting (models.template.Gate)
        return meeting_gate(get_meeting(session, process, meeting_key), now)
    return decision_gate(stage, inputs)


def manual_gate(stage: Stage, inputs: GateInputs) -> GateStatus:
    approved = bool(stage.approved_by or (inputs.approver and inputs.note))
    detail = f"approved by {stage.approved_by or inputs.approver}" if approved else ""
    checks = [Check("approved by a member of the secretariat, with a note", approved, detail)]
    missing = [] if approved else ["needs approval by a member of the secretariat (approver and note)"]
    return GateStatus(GateKind.MANUAL, approved, checks, missing)


def responses_gate(
    stage: Stage,
    process: Process,
    states: Sequence[MemberState],
    responded: Collection[str],
    now: datetime,
    inputs: GateInputs,
) -> GateStatus:
    """Met when the quorum (else every member State) has responded; once the deadline has passed the secretariat
    may proceed without the rest, with a reason."""
    needed = stage.gate_rule.quorum or len(states)
    checks = [Check(f"response from {s.in_text}", s.code in responded) for s in states]
    waiting = [s.in_text for s in states if s.code not in responded]
    count = sum(1 for s in states if s.code in responded)
    met = count >= needed
    past_deadline = now >= deadline_at(stage, process)
    missing: list[str] = []
    if not met:
        quorum = "" if needed == len(states) else f" ({count} of the {needed} needed)"
        missing.append(f"waiting for responses from {', '.join(waiting)}{quorum}")
        if past_deadline:
            if inputs.proceed_reason:
                met = True
                checks.append(
                    Check("the deadline has passed and the secretariat decided to proceed", True, inputs.proceed_reason)
                )
                missing.clear()
            else:
                missing.append(
                    f"the deadline ({stage.due_date:%d %B %Y}) has passed: the secretariat may proceed with a reason"
                )
        else:
            deadline = long_date(stage.due_date)
            missing[-1] += f"; deadline {deadline}"
            missing.append(f"the secretariat may proceed without every response after the deadline of {deadline}")
    return GateStatus(GateKind.RESPONSES, met, checks, missing, may_proceed=past_deadline and not met)


def meeting_gate(meeting: Meeting, now: datetime) -> GateStatus:
    """Met only when the secretariat has recorded the meeting held: the clock passing its end proves nothing."""
    _, end = meeting_bounds(meeting)
    if meeting.status is MeetingStatus.CANCELLED:
        held, detail = False, "the meeting was cancelled"
    elif meeting.status is MeetingStatus.HELD:
        held, detail = True, "recorded as held"
    elif meeting.tentative:
        held, detail = False, "its date is still to be confirmed"
    elif now >= end:
        held, detail = False, f"it ended {end:%d %B %Y %H:%M} {meeting.timezone}; record it held"
    else:
        held, detail = False, f"it ends {end:%d %B %Y %H:%M} {meeting.timezone}"
    checks = [Check(f"meeting held: {meeting.title}", held, detail)]
    missing = [] if held else [f"meeting {meeting.title!r} has not been recorded as held ({detail})"]
    return GateStatus(GateKind.MEETING_HELD, held, checks, missing)


def decision_gate(stage: Stage, inputs: GateInputs) -> GateStatus:
    label = stage.gate_rule.label or "decision recorded"
    recorded = bool(stage.decision_text or (inputs.decision_text and inputs.decision_date))
    checks = [Check(label, recorded, stage.decision_text or inputs.decision_text or "")]
    missing = [] if recorded else [f"needs the decision recorded ({label}): its text and date"]
    return GateStatus(GateKind.DECISION_RECORDED, recorded, checks, missing)
