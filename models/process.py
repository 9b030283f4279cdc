"""A consultation process, its stages and their meetings: the timeline as rows."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import Attendance, GateKind, MeetingKind, MeetingStatus, Owner, StageState
from models.template import Gate
from models.types import UTCDateTime, enum_column


class Process(SQLModel, table=True):
    __tablename__ = "process"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    title: str
    short_name: str
    timezone: str
    source: str = ""
    reminder_policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    template_name: str = ""
    limits: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Dates the timeline should keep to (models.template.DateLimit, as JSON): a reschedule warns past one."""
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Stage(SQLModel, table=True):
    __tablename__ = "stage"
    __table_args__ = (UniqueConstraint("process_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    process_id: int = Field(foreign_key="process.id", index=True)
    key: str
    position: int
    name: str
    activity: str
    start_date: date
    end_date: date
    due_date: date = Field(description="Owners owe their part by the end of this day, process time zone")
    tentative: bool = False
    tentative_note: str | None = None
    owners: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    depends_on: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    overlap_days: int = Field(default=0, description="may start this many days before its predecessors end")
    fixed: bool = Field(default=False, description="a fixed-date stage: a reschedule never pushes it")
    gate_kind: GateKind = Field(sa_column=enum_column(GateKind))
    gate: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reminder_policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    state: StageState = Field(default=StageState.PLANNED, sa_column=enum_column(StageState))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    approved_by: str | None = None
    approval_note: str | None = None
    proceed_reason: str | None = None
    override_reason: str | None = None
    decision_text: str | None = None
    decision_date: date | None = None
    # Bumped on every change: optimistic locking, and the iCalendar SEQUENCE of the stage's events.
    version: int = 1
    modified_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))

    @property
    def who_acts(self) -> list[Owner]:
        """The owners, typed (the column keeps their values)."""
        return [Owner(o) for o in self.owners]

    @property
    def gate_rule(self) -> Gate:
        """The gate, typed: the column keeps its fields without the kind, which `gate_kind` holds."""
        return Gate.model_validate({**self.gate, "kind": self.gate_kind})

    @property
    def is_open(self) -> bool:
        """Planned or active: not yet completed or skipped."""
        return self.state in (StageState.PLANNED, StageState.ACTIVE)

    @property
    def owes_responses(self) -> bool:
        """The stage asks member States for a response (their focal points are reminded, responses recorded)."""
        return Owner.MEMBER_STATES.value in self.owners

    def days_left(self, today: date) -> int:
        """Days until the deadline (0 on its day), negative once overdue."""
        return (self.due_date - today).days


class Meeting(SQLModel, table=True):
    """A meeting at its own wall-clock time and zone, as the concept notes give it ("15:00-18:00 (GMT+9)")."""

    __tablename__ = "meeting"
    __table_args__ = (UniqueConstraint("process_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    process_id: int = Field(foreign_key="process.id", index=True)
    stage_id: int = Field(foreign_key="stage.id", index=True)
    key: str
    title: str
    day: date
    end_day: date
    start_time: time | None = None
    end_time: time | None = None
    timezone: str
    location: str = ""
    virtual: bool = False
    tentative: bool = False
    agreed: bool = Field(default=False, description="its date was agreed: a reschedule moves it only when asked")
    attendees: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """The participants by role: the owner kinds invited (member_states, secretariat, som, stakeholders)."""
    status: MeetingStatus = Field(default=MeetingStatus.SCHEDULED, sa_column=enum_column(MeetingStatus))
    kind: MeetingKind = Field(default=MeetingKind.CONSULTATION, sa_column=enum_column(MeetingKind))
    online_link: str | None = None
    """Secret: shown only in invitations and personal feeds, never in public or member-State feeds or exports."""
    dial_in: str | None = None
    """Secret, like `online_link`."""
    agenda_link: str | None = None
    documents_link: str | None = None
    held_on: date | None = None
    """The day the secretariat recorded the meeting held on (its own zone)."""
    version: int = 1
    modified_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))

    @property
    def all_day(self) -> bool:
        return self.start_time is None or self.end_time is None


class MeetingAttendance(SQLModel, table=True):
    """Whether a member State registered for, attended or sent apologies to a meeting, as the secretariat records it."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_state_code"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_state_code: str = Field(foreign_key="member_state.code")
    attendance: Attendance = Field(sa_column=enum_column(Attendance))
    recorded_by: str
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
