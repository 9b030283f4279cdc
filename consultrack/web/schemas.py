"""The API's public schemas: what each route takes (`...In`, unknown fields refused) and what it answers (`...Out`).
The answers are the JSON the API has always sent (tests/web/test_api.py is the contract); instants keep Python's
ISO form (+00:00, not Z) for that reason."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from models.errors import ErrorCode

Text = Annotated[str, Field(max_length=2000)]
Key = Annotated[str, Field(max_length=200)]
Instant = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartIn(Input):
    override_reason: Text | None = None


class AdvanceIn(Input):
    approver: Key | None = None
    note: Text | None = None
    decision_text: Text | None = None
    decision_date: date | None = None
    proceed_reason: Text | None = None
    override_reason: Text | None = None


class SkipIn(Input):
    reason: Text


class RescheduleIn(Input):
    start: date | None = None
    end: date | None = None
    due: date | None = None
    confirm: bool = False
    reason: Text | None = Field(default=None, description="required to apply; the preview's notices quote it")
    move_meetings: list[Key] = Field(default_factory=list, description="agreed meetings to move with their stage")
    keep_meetings: list[Key] = Field(default_factory=list, description="agreed meetings to keep (the default)")


class ResponseIn(Input):
    member_state: Key
    received_on: date | None = Field(default=None, description="default: today in the process's time zone")
    channel: Key = "e-mail"
    note: Text = ""
    link: Text | None = None


class ResponseCorrectionIn(Input):
    member_state: Key
    reason: Text
    received_on: date | None = Field(default=None, description="the right date received; default: unchanged")
    channel: Key | None = Field(default=None, description="default: unchanged")
    note: Text | None = Field(default=None, description="default: unchanged")


class ResponseWithdrawalIn(Input):
    member_state: Key
    reason: Text


class UndoAdvanceIn(Input):
    reason: Text


class MeetingIn(Input):
    status: Literal["held", "cancelled"]
    reason: Text | None = None


class Message(BaseModel):
    """A refusal: the message, fit to show, and its kind (models/errors.py), for programs to tell refusals apart."""

    error: str
    code: ErrorCode


class ProcessOut(BaseModel):
    key: str
    title: str
    timezone: str


class StageRowOut(BaseModel):
    key: str
    name: str
    state: str
    start: date
    end: date
    due: date
    tentative: bool
    owners: list[str]
    gate: str
    days_left: int | None
    overdue: bool


class ProcessDetailOut(BaseModel):
    key: str
    title: str
    today: date
    stages: list[StageRowOut]


class CheckOut(BaseModel):
    label: str
    done: bool
    detail: str


class GateOut(BaseModel):
    kind: str
    met: bool
    missing: list[str]
    checks: list[CheckOut]


class ResponseOut(BaseModel):
    member_state: str
    received_on: date
    channel: str
    note: str


class StageDetailOut(BaseModel):
    key: str
    name: str
    activity: str
    state: str
    start: date
    end: date
    due: date
    version: int
    gate: GateOut
    responses: list[ResponseOut]


class StageChangedOut(BaseModel):
    """A stage started or skipped."""

    stage: str
    state: str


class AdvancedOut(StageChangedOut):
    started: list[str]
    overridden: bool
    gate: str


class RescheduledOut(BaseModel):
    stage: str
    moved: list[str]
    meetings: list[str]
    kept: list[str] = []
    warnings: list[str] = []


class ResponseRecordedOut(BaseModel):
    stage: str
    member_state: str
    received_on: date


class ResponseCorrectedOut(BaseModel):
    stage: str
    member_state: str
    received_on: date
    channel: str
    note: str


class ResponseWithdrawnOut(BaseModel):
    stage: str
    member_state: str
    withdrawn: bool


class AdvanceUndoneOut(BaseModel):
    stage: str
    state: str
    put_back: list[str]


class MeetingChangedOut(BaseModel):
    meeting: str
    status: str


class InvitedOut(BaseModel):
    """Invitations queued (the next sweep sends them); 0 when everyone was already invited."""

    meeting: str
    title: str
    invited: int


class StageMoveOut(BaseModel):
    key: str
    old: list[date]
    new: list[date]
    because: str


class MeetingMoveOut(BaseModel):
    key: str
    old_day: date
    new_day: date


class ReminderChangeOut(BaseModel):
    person: str
    stage: str
    rule: str
    before: Instant | None
    after: Instant | None


class EventChangeOut(BaseModel):
    uid: str
    title: str
    before: str
    after: str
    sequence: list[int]


class AgreedMeetingOut(BaseModel):
    key: str
    title: str
    day: date
    stage: str
    window: list[date]
    proposed: date
    moves: bool


class ReschedulePreviewOut(BaseModel):
    stages: list[StageMoveOut]
    meetings: list[MeetingMoveOut]
    reminders: list[ReminderChangeOut]
    events: list[EventChangeOut]
    agreed: list[AgreedMeetingOut] = []
    warnings: list[str] = []
    summary: list[str] = []
    """The notices that will go out and the reminders that move, counted per kind, in words."""


class AuditEntryOut(BaseModel):
    id: int
    at: Instant
    actor: str
    action: str
    process: str | None
    stage: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


class MeetingDetailsIn(Input):
    """A meeting's details (`meeting edit`); a field left out is unchanged, "" clears a link."""

    title: Text | None = None
    kind: Literal["nfp_meeting", "som", "expert_group", "consultation"] | None = None
    location: Text | None = None
    virtual: bool | None = None
    online_link: Text | None = Field(default=None, description="https only; secret (invitations, personal feeds)")
    dial_in: Text | None = Field(default=None, description="secret (invitations, personal feeds)")
    agenda_link: Text | None = None
    documents_link: Text | None = None
    attendees: list[Key] | None = Field(
        default=None, description="participants by role: member_states, secretariat, som, stakeholders"
    )


class MeetingWhenIn(Input):
    """When: a first day (and last), start and end times in an IANA zone, or neither time for an all-day meeting.
    On a move, what is left out stays as it is (its times, length and zone); `all_day` drops the times."""

    date: dt.date | None = None  # the field's name shadows the type inside the class: the module names it
    end_date: dt.date | None = None
    start: dt.time | None = None
    end: dt.time | None = None
    timezone: Key | None = None
    all_day: bool = False
    stage: Key | None = Field(default=None, description="the stage it belongs to (default: its window's)")
    tentative: bool = Field(default=False, description="the date is still to be confirmed")


class MeetingAddIn(MeetingWhenIn, MeetingDetailsIn):
    pass


class MeetingMoveIn(MeetingWhenIn):
    reason: Text | None = None


class MeetingCancelIn(Input):
    reason: Text


class MeetingHeldIn(Input):
    held_on: dt.date | None = Field(default=None, description="default: today (or its last day) in its zone")
    attendance: dict[Key, Literal["registered", "attended", "apologies"]] | None = Field(
        default=None, description="per member State (code or name)"
    )
    reason: Text | None = Field(default=None, description="a note for the record")


class MeetingAttendanceIn(Input):
    attendance: dict[Key, Literal["registered", "attended", "apologies", "none"]] = Field(
        description="per member State (code or name); none clears what was recorded"
    )
    reason: Text | None = Field(default=None, description="required to change or clear a recorded value")


class MeetingOut(BaseModel):
    """A meeting as readers see it: never its online link or dial-in (they are in invitations and personal feeds)."""

    meeting: str
    title: str
    status: str
    when: str
    version: int
    kind: str | None = None
    stage: str | None = None
    tentative: bool | None = None
    has_joining_details: bool | None = None
