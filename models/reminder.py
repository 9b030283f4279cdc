"""Planned reminder e-mails, one row each. Sending claims a row; the unique key forbids a second copy.

The key is (stage, recipient, rule, occurrence) and the deadline it was planned for: a reminder goes once per
deadline, and again for a deadline extended far enough (notifications/reminders/planner.py).

A row about a meeting (models.enums.MEETING_RULES) belongs to the meeting's stage and names the meeting in its
occurrence (`meeting_occurrence`): the meeting's id and, for an invitation or an update, the meeting's version it
announces (for a meeting reminder, the days before); its deadline is the meeting's first day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import ReminderRule, ReminderStatus
from models.types import UTCDateTime, enum_column


class Reminder(SQLModel, table=True):
    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("stage_id", "person_id", "rule", "occurrence", "due_date_seen", name="uq_reminder_key"),
        Index("ix_reminder_due", "status", "send_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    rule: ReminderRule = Field(sa_column=enum_column(ReminderRule))
    occurrence: int = Field(description="days before the deadline (before), or the repeat number")
    offset_days: int = Field(description="signed days from the deadline; a reschedule re-derives send_at")
    send_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    due_date_seen: date = Field(description="the deadline the row was planned for (a digest: its day)")
    status: ReminderStatus = Field(default=ReminderStatus.PENDING, sa_column=enum_column(ReminderStatus))
    cc: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    message_id: str | None = None
    late: bool = False
    last_error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


MEETING_SPAN = 10_000
"""Occurrences of a meeting's rows: meeting id * MEETING_SPAN + a number below it (a version, days before)."""


def meeting_occurrence(meeting_id: int, number: int) -> int:
    return meeting_id * MEETING_SPAN + min(max(number, 0), MEETING_SPAN - 1)


def meeting_id_of(occurrence: int) -> int:
    """The meeting a meeting row (models.enums.MEETING_RULES) is about."""
    return occurrence // MEETING_SPAN
