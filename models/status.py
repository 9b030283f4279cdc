"""Read models for 'who owes what': the timeline rows and the response matrix, shared by the CLI and the web."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.directory import MemberState
from models.enums import GateKind, StageState
from models.gates import GateStatus, describe_gate, evaluate_gate
from models.process import Process, Stage
from models.queries import member_states, stages_of
from models.response import Response


@dataclass(frozen=True)
class StageRow:
    stage: Stage
    gate: GateStatus
    days_left: int | None
    """Days to the deadline for an open stage; negative when overdue; None once completed or skipped."""
    today: date

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0 and self.stage.state is StageState.ACTIVE

    @property
    def gate_text(self) -> str:
        s = self.stage
        if s.state is StageState.ACTIVE:
            return self.gate.summary
        if s.state is StageState.PLANNED:
            return describe_gate(s)
        if s.state is StageState.SKIPPED:
            return "skipped"
        if s.override_reason and s.completed_at:
            return "overridden"
        return "proceeded after the deadline" if s.proceed_reason else "met"

    @property
    def when(self) -> str:
        s = self.stage
        if self.days_left is None:
            return "-"
        if s.state is StageState.PLANNED:
            return f"starts {s.start_date:%d %b}" if s.start_date > self.today else "due to start"
        if self.days_left < 0:
            return f"{-self.days_left} days overdue"
        return "due today" if self.days_left == 0 else f"{self.days_left} days left"


@dataclass(frozen=True)
class ProcessStatus:
    process: Process
    today: date
    rows: list[StageRow]
    states: list[MemberState]
    responses: dict[str, dict[str, Response]]
    """stage key -> member State code -> response, for the stages that ask member States for something."""


def process_status(session: Session, process: Process, now: datetime, today: date) -> ProcessStatus:
    stages = stages_of(session, process)
    rows = []
    for stage in stages:
        left = stage.days_left(today) if stage.is_open else None
        rows.append(StageRow(stage, evaluate_gate(session, process, stage, now), left, today))
    responses: dict[str, dict[str, Response]] = {s.key: {} for s in stages if s.gate_kind is GateKind.RESPONSES}
    ids = {s.id: s.key for s in stages}
    for response in session.exec(select(Response).where(col(Response.stage_id).in_(list(ids)))).all():
        responses.setdefault(ids[response.stage_id], {})[response.member_state_code] = response
    return ProcessStatus(process, today, rows, member_states(session), responses)
