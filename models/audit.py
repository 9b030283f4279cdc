"""The append-only audit log. The database refuses UPDATE and DELETE on it (triggers in the migrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from models.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    actor: str
    action: str = Field(index=True)
    process_key: str | None = Field(default=None, index=True)
    stage_key: str | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = None


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    process_key: str | None = None,
    stage_key: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction, so the change and its record commit together."""
    entry = AuditEntry(
        at=at, actor=actor, action=action, process_key=process_key, stage_key=stage_key,
        before=before, after=after, reason=reason,
    )
    session.add(entry)
    return entry
