"""The append-only audit log. The database refuses UPDATE and DELETE on it (triggers in the migrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.text import check_plain
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
        at=at,
        actor=actor,
        action=action,
        process_key=process_key,
        stage_key=stage_key,
        before=before,
        after=after,
        reason=reason,
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    *,
    process: str | None = None,
    stage: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first, filtered as every face offers it: exact process and stage keys, an action prefix
    ("stage." for all stage changes), part of the actor's name, and `before` an entry id (paging). A filter with
    control characters is refused (models/text.py): PostgreSQL would fail on a NUL, and nothing stored holds one."""
    for name, value in (("process", process), ("stage", stage), ("action", action), ("actor", actor)):
        if value:
            check_plain(value, f"the {name} filter")
    query: SelectOfScalar[AuditEntry] = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if process:
        query = query.where(AuditEntry.process_key == process)
    if stage:
        query = query.where(AuditEntry.stage_key == stage)
    if action:
        query = query.where(col(AuditEntry.action).startswith(action, autoescape=True))
    if actor:
        query = query.where(col(AuditEntry.actor).contains(actor, autoescape=True))
    if before is not None:
        query = query.where(col(AuditEntry.id) < before)
    return list(session.exec(query).all())
