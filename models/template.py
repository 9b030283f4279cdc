"""Process templates: the YAML a secretariat writes, validated before anything is stored."""

from __future__ import annotations

import datetime as dt
from datetime import date, time
from pathlib import Path
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from models import limits
from models.enums import Ask, GateKind, MeetingKind, Owner
from models.text import plain
from models.yaml_source import load_yaml, validate

KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Seoul)") from exc
    return name


def fail_at(loc: tuple[int | str, ...], value: Any, message: str) -> NoReturn:
    """Refuse with an error at `loc` below the field being validated (pydantic prefixes the outer location),
    instead of at the field itself as a plain ValueError would be."""
    raise ValidationError.from_exception_data(
        "template",
        [
            InitErrorDetails(
                type=PydanticCustomError("template", "{message}", {"message": message}), loc=loc, input=value
            )
        ],
    )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def one_line(*fields: str) -> Any:
    """A validator refusing control characters, line breaks included, in `fields` (models/text.py)."""
    return field_validator(*fields)(classmethod(lambda cls, v: v if v is None else plain(v)))


def multi_line(*fields: str) -> Any:
    """A validator refusing control characters other than line breaks and tabs in `fields`."""
    return field_validator(*fields)(classmethod(lambda cls, v: v if v is None else plain(v, multiline=True)))


class ReminderPolicy(Strict):
    """When to remind owners who still owe something, relative to the stage's deadline."""

    before_days: list[int] = Field(default=[14, 7, 2, 0])
    overdue_every_days: int = Field(default=3, ge=1, le=366)
    overdue_max: int = Field(default=3, ge=0, le=100)
    escalate_after: int = Field(default=2, ge=0, le=100, description="overdue reminders before the alternate is asked")
    on_start: bool = True
    asks: dict[Owner, Ask] = Field(
        default_factory=dict,
        description="what the stage asks of each owner kind (ask_of)",
    )
    meeting_before_days: list[int] = Field(default=[7, 1], description="meeting reminders, days before it")

    def ask_of(self, owner: Owner, gate_kind: GateKind) -> Ask:
        """What the stage asks of `owner`: as the template says; else, at a stage whose gate is a meeting held,
        attendance from everyone but the secretariat (whose part is to hold it and record it); else a written
        response (as before)."""
        if owner in self.asks:
            return self.asks[owner]
        if gate_kind is GateKind.MEETING_HELD and owner is not Owner.SECRETARIAT:
            return Ask.ATTENDANCE
        return Ask.RESPONSE

    @field_validator("meeting_before_days")
    @classmethod
    def _meeting_days(cls, days: list[int]) -> list[int]:
        if any(not 1 <= d <= 366 for d in days):
            raise ValueError("meeting_before_days are between 1 and 366")
        return sorted(set(days), reverse=True)

    @field_validator("before_days")
    @classmethod
    def _within_a_year(cls, days: list[int]) -> list[int]:
        """Days before a deadline, within a year of it (a reminder further ahead would count past any date)."""
        if any(not 0 <= d <= 366 for d in days):
            raise ValueError("before_days are between 0 and 366")
        return sorted(set(days), reverse=True)


class Window(Strict):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")
        return self


class Gate(Strict):
    kind: GateKind
    quorum: int | None = Field(default=None, ge=1, le=6, description="responses: how many; all when unset")
    meeting: str | None = None
    label: str | None = None

    _one_line = one_line("label")

    @model_validator(mode="after")
    def _fits_kind(self) -> Gate:
        if self.kind is GateKind.MEETING_HELD and not self.meeting:
            raise ValueError("a meeting_held gate names its meeting")
        if self.kind is not GateKind.RESPONSES and self.quorum is not None:
            fail_at(("quorum",), self.quorum, "quorum belongs to a responses gate")
        return self


class MeetingSpec(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    title: str
    date: dt.date  # the field's name shadows the type inside the class: the module names it
    end_date: dt.date | None = None
    start: time | None = None
    end: time | None = None
    timezone: str
    location: str = ""
    virtual: bool = False
    tentative: bool = False
    attendees: list[Owner] = Field(default_factory=lambda: [Owner.MEMBER_STATES, Owner.SECRETARIAT])
    kind: MeetingKind = MeetingKind.CONSULTATION
    online_link: str | None = None
    """Secret: only in invitations and personal feeds."""
    dial_in: str | None = None
    agenda_link: str | None = None
    documents_link: str | None = None

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))
    _one_line = one_line("title", "online_link", "agenda_link", "documents_link")
    _multi_line_dial_in = multi_line("dial_in")

    @field_validator("online_link", "agenda_link", "documents_link")
    @classmethod
    def _web_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        lower = value.strip().lower()
        if info.field_name == "online_link" and not lower.startswith("https://"):
            raise ValueError("the online link must be an https address (https://...)")
        if not lower.startswith(("https://", "http://")):
            raise ValueError("a link must be a web address (https://...)")
        return value.strip()

    _multi_line = multi_line("location")

    @model_validator(mode="after")
    def _times(self) -> MeetingSpec:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end times, or neither for an all-day meeting")
        if self.end_date is not None and self.end_date < self.date:
            fail_at(("end_date",), self.end_date.isoformat(), "end_date is before date")
        if self.start and self.end and (self.end_date in (None, self.date)) and self.end <= self.start:
            fail_at(("end",), self.end.isoformat(), "the meeting ends before it starts")
        return self


class StageSpec(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str
    activity: str
    window: Window
    due: date | None = Field(default=None, description="the deadline; the window's end when unset")
    tentative: bool = False
    tentative_note: str | None = None
    owners: list[Owner] = Field(min_length=1)
    gate: Gate
    depends_on: list[str] = Field(default_factory=list)
    overlap_days: int = Field(
        default=0, ge=0, le=366, description="it may start this many days before its predecessors end"
    )
    fixed: bool = Field(default=False, description="a fixed-date stage: a reschedule of another never moves it")
    meetings: list[MeetingSpec] = Field(default_factory=list)
    reminders: ReminderPolicy | None = None

    _one_line = one_line("name")
    _multi_line = multi_line("activity", "tentative_note")

    @model_validator(mode="after")
    def _consistent(self) -> StageSpec:
        if self.due is not None and not self.window.start <= self.due <= self.window.end:
            fail_at(
                ("due",),
                self.due.isoformat(),
                f"due date {self.due} is outside the window {self.window.start}..{self.window.end}",
            )
        if self.gate.kind is GateKind.MEETING_HELD and self.gate.meeting not in {m.key for m in self.meetings}:
            fail_at(
                ("gate", "meeting"),
                self.gate.meeting,
                f"gate meeting {self.gate.meeting!r} is not one of this stage's meetings",
            )
        return self


class DateLimit(Strict):
    """A date the timeline should keep to, in people's words: `name` completes "... before <name>" ("the plan
    period starts"). The `stages` listed (every stage when none) should end before `date`; a reschedule that
    pushes one past it is not refused, but its preview warns."""

    name: str
    date: dt.date
    stages: list[str] = Field(default_factory=list)

    _one_line = one_line("name")


class ProcessTemplate(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    title: str
    short_name: str
    timezone: str = "Asia/Seoul"
    source: str = ""
    kind: Literal["process"] = "process"
    reminders: ReminderPolicy = Field(default_factory=ReminderPolicy)
    stages: list[StageSpec] = Field(min_length=1)
    limits: list[DateLimit] = Field(default_factory=list)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))
    _one_line = one_line("title", "short_name")
    _multi_line = multi_line("source")

    @field_validator("limits")
    @classmethod
    def _limits_name_stages(cls, found: list[DateLimit], info: ValidationInfo) -> list[DateLimit]:
        keys = {s.key for s in info.data.get("stages", [])}
        for position, limit in enumerate(found):
            for index, key in enumerate(limit.stages):
                if key not in keys:
                    fail_at((position, "stages", index), key, f"limit {limit.name!r} names unknown stage {key!r}")
        return found

    @field_validator("stages")
    @classmethod
    def _within_reason(cls, stages: list[StageSpec]) -> list[StageSpec]:
        """Every date within the process's range (models/limits.py), counted from the stage that starts first."""
        allowed = limits.process_range(min(s.window.start for s in stages)) if stages else limits.ANY_PROCESS
        for position, stage in enumerate(stages):
            dates: list[tuple[tuple[int | str, ...], date | None]] = [
                (("window", "start"), stage.window.start),
                (("window", "end"), stage.window.end),
                (("due",), stage.due),
            ]
            for index, meeting in enumerate(stage.meetings):
                dates += [
                    (("meetings", index, "date"), meeting.date),
                    (("meetings", index, "end_date"), meeting.end_date),
                ]
            for loc, day in dates:
                if day is not None and (problem := allowed.problem(day)) is not None:
                    fail_at((position, *loc), day.isoformat(), problem)
        return stages

    @field_validator("stages")
    @classmethod
    def _graph(cls, stages: list[StageSpec]) -> list[StageSpec]:
        """Checks across stages. Each error is placed on the stage and field at fault (its `depends_on` entry,
        its key, its window), so the message names the line to fix rather than the `stages:` line."""
        position_of: dict[str, int] = {}
        for position, stage in enumerate(stages):
            if stage.key in position_of:
                fail_at((position, "key"), stage.key, f"stage key {stage.key!r} appears twice")
            position_of[stage.key] = position
        meetings_seen: set[str] = set()
        for position, stage in enumerate(stages):
            for index, meeting in enumerate(stage.meetings):
                if meeting.key in meetings_seen:
                    fail_at(
                        (position, "meetings", index, "key"),
                        meeting.key,
                        f"meeting key {meeting.key!r} appears twice: meeting keys must be unique within the process",
                    )
                meetings_seen.add(meeting.key)
        by_key = {s.key: s for s in stages}
        for position, stage in enumerate(stages):
            for index, dep in enumerate(stage.depends_on):
                if dep not in by_key:
                    fail_at(
                        (position, "depends_on", index), dep, f"stage {stage.key!r} depends on unknown stage {dep!r}"
                    )
        cycle = find_cycle({s.key: list(s.depends_on) for s in stages})
        if cycle:
            # cycle[0] depends on cycle[1]: point at that entry of cycle[0]'s depends_on.
            head = by_key[cycle[0]]
            fail_at(
                (position_of[head.key], "depends_on", head.depends_on.index(cycle[1])),
                cycle[1],
                "dependency cycle: " + " -> ".join(cycle),
            )
        for position, stage in enumerate(stages):
            for index, dep in enumerate(stage.depends_on):
                if position_of[dep] > position:
                    fail_at(
                        (position, "depends_on", index),
                        dep,
                        f"stage {stage.key!r} depends on {dep!r}, which is listed after it",
                    )
                overlap = dt.timedelta(days=stage.overlap_days)
                if by_key[dep].window.end - overlap > stage.window.start and not stage.tentative:
                    fail_at(
                        (position, "window", "start"),
                        stage.window.start.isoformat(),
                        f"stage {stage.key!r} starts {stage.window.start}, before {dep!r} ends "
                        f"{by_key[dep].window.end}",
                    )
        return stages


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in `graph` (node -> nodes it depends on) as a closed path, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def load_template(path: Path) -> ProcessTemplate:
    data, node = load_yaml(path)
    return validate(ProcessTemplate, data, node, path)
