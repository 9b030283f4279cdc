"""Secretariat accounts: creating and disabling them, checking passwords, login sessions and the sign-in throttle.
Secrets are stored hashed. Their API tokens are issued and checked in models/token_rules.py."""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from config import clock
from models.account import Account, LoginFailure, LoginSession
from models.audit import record
from models.db import read_session, session_scope
from models.enums import AccountRole
from models.errors import Conflict, InvalidInput, NotFound
from models.tokens import ApiToken, hash_token, new_token

MIN_PASSWORD_LENGTH = 10
MAX_LOGIN_FAILURES = 5
"""Refused sign-ins with one username from one client within the window, before that client is refused unchecked."""
MAX_LOGIN_FAILURES_PER_USERNAME = 50
"""The same from all clients together, before everyone is: a guess spread over many addresses stops too."""
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_hasher = PasswordHasher()
# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class LoginFailed(InvalidInput):
    """One message for an unknown user, a wrong password and a disabled account: no hint which it was."""

    http_status = 401

    def __init__(self) -> None:
        super().__init__("wrong username or password, or the account is disabled")


class LoginThrottled(InvalidInput):
    """Too many refused sign-ins with this username lately (from this client, or from everywhere): refused
    without checking the password."""

    http_status = 429

    def __init__(self, wait: timedelta) -> None:
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        super().__init__(
            f"too many failed sign-ins with this username: try again in {minutes} minute" + ("s" if minutes > 1 else "")
        )


def _username(value: str) -> str:
    name = value.strip().lower()
    if not USERNAME.match(name):
        raise InvalidInput("a username is 2-64 characters: lowercase letters, digits and . _ @ -")
    return name


def create_account(
    session: Session, username: str, password: str, role: AccountRole, *, actor: str, now: datetime
) -> Account:
    name = _username(username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.exec(select(Account).where(Account.username == name)).first() is not None:
        raise Conflict(f"an account {name!r} already exists")
    account = Account(username=name, password_hash=_hasher.hash(password), role=role, created_at=now)
    session.add(account)
    record(session, at=now, actor=actor, action="account.create", after={"username": name, "role": role.value})
    return account


def get_account(session: Session, username: str) -> Account:
    account = session.exec(select(Account).where(Account.username == username.strip().lower())).first()
    if account is None:
        raise NotFound(f"no account {username!r}")
    return account


def list_accounts(session: Session) -> list[Account]:
    return list(session.exec(select(Account).order_by(Account.username)).all())


def disable_account(session: Session, username: str, *, actor: str, now: datetime) -> Account:
    """Disabling also revokes the account's API tokens: a disabled person's scripts stop too."""
    account = get_account(session, username)
    if account.disabled:
        raise Conflict(f"account {account.username!r} is already disabled")
    account.disabled = True
    for token in session.exec(
        select(ApiToken).where(ApiToken.account_id == account.id, col(ApiToken.revoked_at).is_(None))
    ).all():
        token.revoked_at = now
    for login in session.exec(
        select(LoginSession).where(LoginSession.account_id == account.id, col(LoginSession.ended_at).is_(None))
    ).all():
        login.ended_at = now
    record(session, at=now, actor=actor, action="account.disable", after={"username": account.username})
    return account


def authenticate(session: Session, username: str, password: str) -> Account:
    """The account for a username and password, or LoginFailed. Argon2 verification runs either way."""
    account = session.exec(select(Account).where(Account.username == username.strip().lower())).first()
    ok: bool
    try:
        ok = _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None or account.disabled:
        raise LoginFailed()
    return account


def client_key(address: str) -> str:
    """What the throttle counts a client by: its IP address as Python writes it, but an IPv6 client's /64 (the
    block one subscriber or one machine holds: counting its 2**64 addresses one by one would let a single
    attacker guess on and on); an IPv4 client in IPv6 form as IPv4. Anything else (a test client's name), as
    it is."""
    try:
        ip = ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ip_network(f"{ip.exploded}/64", strict=False))
    return str(ip)


def attempt_sign_in(username: str, password: str, *, client: str) -> Account:
    """The account for a username and password; LoginFailed, or LoginThrottled after MAX_LOGIN_FAILURES refused
    sign-ins with that name from this client (`client_key`), or MAX_LOGIN_FAILURES_PER_USERNAME from all
    clients together, within LOGIN_FAILURE_WINDOW (until the oldest of them ages out: the right password does
    not help meanwhile, or guessing would simply go on). Counting by client too means an attacker who keeps a
    name refused from their address does not keep its owner out, who signs in from another; the looser ceiling
    still stops a guess spread over many addresses. A refused attempt is not counted, so one address alone never
    reaches the ceiling. The time is the real clock's (config.clock.real_now), whatever day the business
    clock stands on.

    It opens its own transactions, each short, so that no lock is held while argon2 works (a quarter of a
    second): the attempt is written first and committed, then counted with every other replica's; one that
    finds too many takes itself back and is refused unchecked; a right password takes it back too."""
    name, now = username.strip().lower()[:64], clock.real_now()
    with session_scope() as session:
        session.exec(
            delete(LoginFailure).where(
                col(LoginFailure.username) == name, col(LoginFailure.at) <= now - LOGIN_FAILURE_WINDOW
            )
        )
        attempt = LoginFailure(username=name, client=client_key(client), at=now)
        session.add(attempt)
    with read_session() as session:
        until = [
            when
            for when in (
                _refused_until(session, attempt, MAX_LOGIN_FAILURES, per_client=True),
                _refused_until(session, attempt, MAX_LOGIN_FAILURES_PER_USERNAME, per_client=False),
            )
            if when is not None
        ]
    if until:
        _take_back(attempt.id)
        raise LoginThrottled(max(until) - now)  # when both limits are reached, until both have passed
    with read_session() as session:
        account = authenticate(session, name, password)  # LoginFailed leaves the attempt: it counts
    _take_back(attempt.id)
    return account


def _refused_until(session: Session, attempt: LoginFailure, limit: int, *, per_client: bool) -> datetime | None:
    """While `limit` other refused sign-ins with the attempt's username (from its client, or from all) fall in
    the window, the attempt is refused: until the oldest of the latest `limit` ages out. None: go on."""
    query = select(LoginFailure.at).where(
        LoginFailure.username == attempt.username,
        LoginFailure.id != attempt.id,
        col(LoginFailure.at) > attempt.at - LOGIN_FAILURE_WINDOW,
    )
    if per_client:
        query = query.where(LoginFailure.client == attempt.client)
    latest = session.exec(query.order_by(col(LoginFailure.at).desc()).limit(limit)).all()
    return latest[-1] + LOGIN_FAILURE_WINDOW if len(latest) >= limit else None


def _take_back(attempt_id: int | None) -> None:
    with session_scope() as session:
        session.exec(delete(LoginFailure).where(col(LoginFailure.id) == attempt_id))


def open_login_session(session: Session, account: Account, *, now: datetime) -> str:
    """A new signed-in browser; the secret goes into its (signed) cookie and is not kept here."""
    secret = new_token()
    assert account.id is not None  # a stored account
    session.add(LoginSession(account_id=account.id, token_hash=hash_token(secret), created_at=now))
    return secret


def account_for_login(session: Session, secret: str) -> Account | None:
    """The active account of a live login session, else None (ended, unknown, or the account disabled)."""
    digest = hash_token(secret)
    found = session.exec(
        select(LoginSession, Account).where(LoginSession.token_hash == digest, LoginSession.account_id == Account.id)
    ).first()
    if found is None:
        return None
    login, account = found
    if not hmac.compare_digest(login.token_hash, digest) or login.ended_at is not None or account.disabled:
        return None
    return account


def end_login_session(session: Session, secret: str, *, now: datetime) -> None:
    """Signing out: the session's cookie opens nothing from now on, wherever a copy of it is."""
    login = session.exec(select(LoginSession).where(LoginSession.token_hash == hash_token(secret))).first()
    if login is not None and login.ended_at is None:
        login.ended_at = now
