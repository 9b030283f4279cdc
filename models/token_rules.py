"""The rules for both kinds of secret token, over their tables in models/tokens.py: a person's calendar-feed token
and an account's API token. Each is shown once when issued, kept only as a hash, and revoked at will; the two kinds
share how they are issued and listed, and differ in who holds them and how they are looked up.

A feed token is the whole credential of a personal feed (calendar clients cannot log in), so it carries 192 random
bits, is never stored or logged in clear, and every way of not matching (unknown, revoked, malformed, a person
made inactive) runs the same single indexed query: the answer's timing says nothing about which it was.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar, cast, overload

from sqlalchemy import text
from sqlmodel import Session, col, select

from models.account import Account
from models.accounts import get_account
from models.audit import record
from models.directory import Person
from models.errors import Conflict, InvalidInput, NotFound
from models.queries import get_person
from models.text import check_plain
from models.tokens import ApiToken, FeedToken, hash_token, new_token

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
"""What new_token() makes (24 bytes, URL-safe base64): anything else is malformed, without asking the database."""

RowT = TypeVar("RowT", FeedToken, ApiToken)
HolderT = TypeVar("HolderT", Person, Account)


@dataclass(frozen=True)
class IssuedToken(Generic[RowT, HolderT]):
    """A freshly issued token: `secret` is shown to the caller once and cannot be recovered afterwards."""

    row: RowT
    holder: HolderT
    secret: str


def _issue(session: Session, make: Callable[[str], RowT], holder: HolderT) -> IssuedToken[RowT, HolderT]:
    """A new secret, and the row `make` builds around its hash (the holder, label and time set): only the hash is
    stored."""
    secret = new_token()
    row = make(hash_token(secret))
    row.label = check_plain(row.label.strip(), "the label")
    session.add(row)
    session.flush()
    return IssuedToken(row, holder, secret)


@overload
def tokens_of(
    session: Session, kind: type[FeedToken], holder_id: int | None = None
) -> list[tuple[FeedToken, Person]]: ...


@overload
def tokens_of(
    session: Session, kind: type[ApiToken], holder_id: int | None = None
) -> list[tuple[ApiToken, Account]]: ...


def tokens_of(
    session: Session, kind: type[FeedToken] | type[ApiToken], holder_id: int | None = None
) -> list[tuple[FeedToken, Person]] | list[tuple[ApiToken, Account]]:
    """Every token of a kind with its holder, oldest first; only those of one person or account if given."""
    holder, holder_column = (Person, FeedToken.person_id) if kind is FeedToken else (Account, ApiToken.account_id)
    query = select(kind, holder).join(holder, col(holder.id) == holder_column)
    if holder_id is not None:
        query = query.where(holder_column == holder_id)
    rows = [(t, h) for t, h in session.exec(query.order_by(col(kind.id))).all()]
    # The overloads above say which pair each kind gives; the query built from `kind` cannot show it to mypy.
    return cast("list[tuple[FeedToken, Person]] | list[tuple[ApiToken, Account]]", rows)


# --- feed tokens ------------------------------------------------------------------------------------------------


def issue_feed_token(
    session: Session, email: str, *, actor: str, now: datetime, label: str = ""
) -> IssuedToken[FeedToken, Person]:
    person = get_person(session, email)
    if not person.active:
        raise InvalidInput(f"{person.email} is inactive; reactivate them before issuing a feed token")
    assert person.id is not None  # a stored person
    person_id = person.id
    issued = _issue(
        session, lambda hashed: FeedToken(person_id=person_id, token_hash=hashed, label=label, created_at=now), person
    )
    record(
        session,
        at=now,
        actor=actor,
        action="feed_token.issue",
        after={"token_id": issued.row.id, "person": person.email, "label": issued.row.label},
    )
    return issued


def find_feed_token(session: Session, token_id_or_secret: str) -> FeedToken:
    """A token by the id `feed token list` shows, or by the secret itself (as found in a leaked URL)."""
    value = token_id_or_secret.strip()
    if value.isdigit():
        row = session.get(FeedToken, int(value))
    else:
        row = session.exec(select(FeedToken).where(FeedToken.token_hash == hash_token(value))).first()
    if row is None:
        raise NotFound(f"no feed token {value if value.isdigit() else '(given secret)'}; see 'feed token list'")
    return row


def revoke_feed_token(session: Session, token_id_or_secret: str, *, actor: str, now: datetime) -> FeedToken:
    row = find_feed_token(session, token_id_or_secret)
    if row.revoked_at is not None:
        raise InvalidInput(f"feed token {row.id} was already revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    row.revoked_at = now
    session.add(row)
    record(session, at=now, actor=actor, action="feed_token.revoke", after={"token_id": row.id})
    return row


def rotate_feed_token(
    session: Session, token_id_or_secret: str, *, actor: str, now: datetime
) -> IssuedToken[FeedToken, Person]:
    """Revoke a token and issue its replacement (same person, same label) in one transaction."""
    old = revoke_feed_token(session, token_id_or_secret, actor=actor, now=now)
    person = session.get(Person, old.person_id)
    assert person is not None
    return issue_feed_token(session, person.email, actor=actor, now=now, label=old.label)


LIVE_FROM_SQL = "feed_token JOIN person ON person.id = feed_token.person_id"
LIVE_WHERE_SQL = "feed_token.token_hash = :digest AND feed_token.revoked_at IS NULL AND person.active"
"""A live token of an active person, as SQL: the feed endpoint folds it into its one query per request."""
_LIVE_TOKEN = text(f"SELECT person.* FROM {LIVE_FROM_SQL} WHERE {LIVE_WHERE_SQL}")
_DUMMY_HASH = hash_token("malformed-token-placeholder")


def token_digest(token: str) -> str:
    """What to look up for `token`; a malformed token looks up a digest no token has, at the same cost."""
    return hash_token(token) if TOKEN_PATTERN.fullmatch(token) else _DUMMY_HASH


def person_for_token(session: Session, token: str) -> Person | None:
    """The active person a live feed token belongs to, else None: one query whatever the reason for a miss.

    The database compares digests, never the token: how long a comparison takes can at most reveal a prefix of
    a SHA-256 digest, which says nothing about any token, so no constant-time comparison is needed beyond it."""
    return session.scalars(select(Person).from_statement(_LIVE_TOKEN.bindparams(digest=token_digest(token)))).first()


# --- API tokens -------------------------------------------------------------------------------------------------


def issue_api_token(
    session: Session, username: str, *, label: str, actor: str, now: datetime
) -> IssuedToken[ApiToken, Account]:
    account = get_account(session, username)
    if account.disabled:
        raise InvalidInput(f"account {account.username!r} is disabled")
    assert account.id is not None  # a stored account
    account_id = account.id
    issued = _issue(
        session, lambda hashed: ApiToken(account_id=account_id, token_hash=hashed, label=label, created_at=now), account
    )
    record(
        session,
        at=now,
        actor=actor,
        action="api_token.new",
        after={"username": account.username, "token_id": issued.row.id, "label": issued.row.label},
    )
    return issued


def revoke_api_token(session: Session, token_id: int, *, actor: str, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token #{token_id}")
    if token.revoked_at is not None:
        raise Conflict(f"API token #{token_id} was already revoked")
    token.revoked_at = now
    record(session, at=now, actor=actor, action="api_token.revoke", after={"token_id": token_id})
    return token


def account_for_token(session: Session, secret: str) -> Account | None:
    """The active account holding this live API token, else None. The lookup goes by digest; the final comparison
    is constant-time so that no timing reveals how much of a guessed digest matched."""
    digest = hash_token(secret)
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None:
        return None
    account = session.get(Account, token.account_id)
    if account is None or account.disabled:
        return None
    return account
