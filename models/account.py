"""Secretariat accounts for the web dashboard and the API. Focal points need none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from models.enums import AccountRole
from models.types import UTCDateTime, enum_column


class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str
    role: AccountRole = Field(default=AccountRole.VIEWER, sa_column=enum_column(AccountRole))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    disabled: bool = False
