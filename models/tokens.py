"""Secret tokens for calendar feeds and API scripts: random, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

TOKEN_BYTES = 24  # 192 random bits, above the 128 the feeds require


def new_token() -> str:
    """Never begins with "-": a token is pasted into command lines, where a leading dash reads as an option.

    Drawing again on a leading dash keeps every other token equally likely (63 of 64 first characters remain).
    """
    while (token := secrets.token_urlsafe(TOKEN_BYTES)).startswith("-"):
        pass
    return token


def hash_token(token: str) -> str:
    """SHA-256 suffices for high-entropy random tokens; lookups go by this digest, never by the secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class FeedToken(SQLModel, table=True):
    __tablename__ = "feed_token"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_hash: str = Field(unique=True, index=True)
    label: str = ""
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(unique=True, index=True)
    label: str = ""
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
