"""The rules for calendar-feed tokens: issued once in clear, kept only as a hash, revoked or rotated at will.

A token is the whole credential of a personal feed (calendar clients cannot log in), so it carries 192 random
bits, is never stored or logged in clear, and every way of not matching (unknown, revoked, malformed, a person
made inactive) runs the same single indexed query: the answer's timing says nothing about which it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, col, select

from models.audit import record
from models.directory import Person
from models.errors import InvalidInput, NotFound
from models.queries import get_person
from models.tokens import FeedToken, hash_token, new_token

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
"""What new_token() makes (24 bytes, URL-safe base64): anything else is malformed, without asking the database."""

_DUMMY_HASH = hash_token("malformed-token-placeholder")


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: `secret` is shown to the caller once and cannot be recovered afterwards."""

    row: FeedToken
    person: Person
    secret: str


def issue(session: Session, email: str, *, actor: str, now: datetime, label: str = "") -> IssuedToken:
    person = get_person(session, email)
    if not person.active:
        raise InvalidInput(f"{person.email} is inactive; reactivate them before issuing a feed token")
    secret = new_token()
    row = FeedToken(person_id=person.id, token_hash=hash_token(secret), label=label.strip(), created_at=now)
    session.add(row)
    session.flush()
    record(session, at=now, actor=actor, action="feed_token.issue",
           after={"token_id": row.id, "person": person.email, "label": row.label})
    return IssuedToken(row, person, secret)


def find(session: Session, token_id_or_secret: str) -> FeedToken:
    """A token by the id `feed token list` shows, or by the secret itself (as found in a leaked URL)."""
    value = token_id_or_secret.strip()
    if value.isdigit():
        row = session.get(FeedToken, int(value))
    else:
        row = session.exec(select(FeedToken).where(FeedToken.token_hash == hash_token(value))).first()
    if row is None:
        raise NotFound(f"no feed token {value if value.isdigit() else '(given secret)'}; see 'feed token list'")
    return row


def revoke(session: Session, token_id_or_secret: str, *, actor: str, now: datetime) -> FeedToken:
    row = find(session, token_id_or_secret)
    if row.revoked_at is not None:
        raise InvalidInput(f"feed token {row.id} was already revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    row.revoked_at = now
    session.add(row)
    record(session, at=now, actor=actor, action="feed_token.revoke", after={"token_id": row.id})
    return row


def rotate(session: Session, token_id_or_secret: str, *, actor: str, now: datetime) -> IssuedToken:
    """Revoke a token and issue its replacement (same person, same label) in one transaction."""
    old = revoke(session, token_id_or_secret, actor=actor, now=now)
    person = session.get(Person, old.person_id)
    assert person is not None
    return issue(session, person.email, actor=actor, now=now, label=old.label)


def tokens_of(session: Session, email: str | None = None) -> list[tuple[FeedToken, Person]]:
    query = select(FeedToken, Person).join(Person, col(Person.id) == FeedToken.person_id)
    if email:
        query = query.where(Person.id == get_person(session, email).id)
    return [(t, p) for t, p in session.exec(query.order_by(col(FeedToken.id))).all()]


LIVE_FROM_SQL = "feed_token JOIN person ON person.id = feed_token.person_id"
LIVE_WHERE_SQL = "feed_token.token_hash = :digest AND feed_token.revoked_at IS NULL AND person.active"
"""A live token of an active person, as SQL: the feed endpoint folds it into its one query per request."""
_LIVE_TOKEN = text(f"SELECT person.* FROM {LIVE_FROM_SQL} WHERE {LIVE_WHERE_SQL}")


def token_digest(token: str) -> str:
    """What to look up for `token`; a malformed token looks up a digest no token has, at the same cost."""
    return hash_token(token) if TOKEN_PATTERN.fullmatch(token) else _DUMMY_HASH


def person_for_token(session: Session, token: str) -> Person | None:
    """The active person a live token belongs to, else None: one query whatever the reason for a miss.

    The database compares digests, never the token: how long a comparison takes can at most reveal a prefix of
    a SHA-256 digest, which says nothing about any token, so no constant-time comparison is needed beyond it."""
    return session.scalars(select(Person).from_statement(_LIVE_TOKEN.bindparams(digest=token_digest(token)))).first()
