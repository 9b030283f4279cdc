"""Secretariat accounts for the web dashboard and the API, and the browsers signed in to them. Focal points need
none."""

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


class LoginSession(SQLModel, table=True):
    """A signed-in browser. Its cookie carries a random secret; only the digest is kept, and signing out (or
    disabling the account) ends the row, so a copied cookie stops working at once, not when it expires."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class LoginFailure(SQLModel, table=True):
    """A refused sign-in, by the username typed (known or not) and the client it came from: enough of them in a
    while refuse that name to that client for the rest of the while, and many more from everywhere refuse it to
    all, on every replica, so a password cannot be guessed at the speed of the server (models/accounts.py)."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True)
    client: str = Field(default="", description="the client's address (an IPv6 client's /64); empty: unknown")
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
