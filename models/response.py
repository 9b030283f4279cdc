"""A member State's response to a stage, as received by the secretariat; and those withdrawn since."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class Response(SQLModel, table=True):
    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("stage_id", "member_state_code"),)

    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", index=True)
    member_state_code: str = Field(foreign_key="member_state.code")
    received_on: date
    channel: str = "e-mail"
    note: str = ""
    link: str | None = None
    recorded_by: str
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class WithdrawnResponse(SQLModel, table=True):
    """A response the secretariat withdrew (recorded in error, or taken back by the member State): kept as it was
    recorded, with who withdrew it, when and why. The State owes the stage again."""

    __tablename__ = "withdrawn_response"

    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", index=True)
    member_state_code: str = Field(foreign_key="member_state.code")
    received_on: date
    channel: str
    note: str = ""
    link: str | None = None
    recorded_by: str
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    withdrawn_by: str
    withdrawn_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    reason: str
