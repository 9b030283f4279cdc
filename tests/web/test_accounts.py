"""Accounts and API tokens: argon2 at rest, one answer for every failed login, the CLI commands."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config import clock
from models.accounts import LoginFailed, authenticate, create_account, disable_account
from models.db import read_session, session_scope
from models.enums import AccountRole
from models.errors import Conflict, InvalidInput
from models.token_rules import account_for_token, issue_api_token


def test_passwords_are_argon2_hashed_and_verified(data_dir: Path) -> None:
    with session_scope() as session:
        account = create_account(
            session, "Officer.One", "a long password", AccountRole.ADMIN, actor="t", now=clock.now()
        )
        assert account.username == "officer.one"
        assert account.password_hash.startswith("$argon2id$") and "a long password" not in account.password_hash
    with read_session() as session:
        assert authenticate(session, "officer.one", "a long password").role is AccountRole.ADMIN
        for name, password in (("officer.one", "wrong password"), ("nobody", "a long password")):
            with pytest.raises(LoginFailed) as refused:
                authenticate(session, name, password)
            assert refused.value.http_status == 401
    with session_scope() as session:
        disable_account(session, "officer.one", actor="t", now=clock.now())
    with read_session() as session, pytest.raises(LoginFailed):
        authenticate(session, "officer.one", "a long password")


@pytest.mark.parametrize(
    ("username", "password", "error"),
    [
        ("x", "a long password", InvalidInput),
        ("bad name", "a long password", InvalidInput),
        ("<script>", "a long password", InvalidInput),
        ("fine", "short", InvalidInput),
    ],
)
def test_bad_accounts_are_refused(data_dir: Path, username: str, password: str, error: type[Exception]) -> None:
    with pytest.raises(error), session_scope() as session:
        create_account(session, username, password, AccountRole.VIEWER, actor="t", now=clock.now())


def test_duplicate_account_refused(data_dir: Path) -> None:
    with session_scope() as session:
        create_account(session, "dup", "a long password", AccountRole.VIEWER, actor="t", now=clock.now())
    with pytest.raises(Conflict), session_scope() as session:
        create_account(session, "DUP", "another password", AccountRole.VIEWER, actor="t", now=clock.now())


def test_api_tokens_resolve_only_while_live(data_dir: Path) -> None:
    with session_scope() as session:
        create_account(session, "script", "a long password", AccountRole.VIEWER, actor="t", now=clock.now())
        secret = issue_api_token(session, "script", label="cron", actor="t", now=clock.now()).secret
    with read_session() as session:
        assert account_for_token(session, secret).username == "script"  # type: ignore[union-attr]
        assert account_for_token(session, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    with session_scope() as session:
        disable_account(session, "script", actor="t", now=clock.now())
    with read_session() as session:
        assert account_for_token(session, secret) is None


def test_cli_accounts_and_tokens(data_dir: Path) -> None:
    from consultrack.cli import app

    runner = CliRunner()
    made = runner.invoke(
        app, ["account", "create", "cli.admin", "--role", "admin", "--password-stdin"], input="a long password\n"
    )
    assert made.exit_code == 0, made.output
    bad_role = runner.invoke(app, ["account", "create", "x2", "--role", "root", "--generate"])
    assert bad_role.exit_code == 2 and "--role must be admin or viewer" in bad_role.output
    saved = runner.invoke(app, ["api-token", "new", "cli.admin", "--save"])
    assert saved.exit_code == 0, saved.output
    token_file = data_dir / "api-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with read_session() as session:
        assert account_for_token(session, token_file.read_text().strip()).username == "cli.admin"  # type: ignore[union-attr]
    listed = runner.invoke(app, ["api-token", "list"])
    assert "cli.admin" in listed.output and token_file.read_text().strip() not in listed.output
    assert runner.invoke(app, ["api-token", "revoke", "1"]).exit_code == 0
    again = runner.invoke(app, ["api-token", "revoke", "1"])
    assert again.exit_code == 1 and "already revoked" in again.output
    assert runner.invoke(app, ["account", "disable", "cli.admin"]).exit_code == 0
    assert "disabled" in runner.invoke(app, ["account", "list"]).output


ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


def _guesses_at_once(guesses: list[tuple[str, str]]) -> list[str]:
    """Every (password, client) at the same instant, each in a thread of its own (as on several replicas)."""
    import threading

    from models.accounts import LoginThrottled, attempt_sign_in

    start = threading.Barrier(len(guesses))
    outcomes = [""] * len(guesses)

    def guess(n: int) -> None:
        password, client = guesses[n]
        start.wait()
        try:
            attempt_sign_in("officer.two", password, client=client)
            outcomes[n] = "in"
        except LoginThrottled:
            outcomes[n] = "throttled"
        except LoginFailed:
            outcomes[n] = "checked"

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(len(guesses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _officer() -> None:
    with session_scope() as session:
        create_account(session, "officer.two", "a long password", AccountRole.ADMIN, actor="t", now=clock.now())


def test_concurrent_guesses_from_every_replica_are_throttled_together(data_dir: Path) -> None:
    """Twelve wrong passwords from one address at the same instant (as from several replicas): at most five are
    checked, the rest refused unchecked; then the right password is refused too from there, until the window
    passes."""
    from datetime import timedelta

    from models.accounts import LOGIN_FAILURE_WINDOW, MAX_LOGIN_FAILURES, LoginThrottled, attempt_sign_in
    from tests.web.conftest import age_login_failures

    _officer()
    outcomes = _guesses_at_once([(f"guess number {n}", ATTACKER) for n in range(12)])
    assert len(outcomes) == 12 and "in" not in outcomes
    checked = outcomes.count("checked")
    assert checked <= MAX_LOGIN_FAILURES  # the count is taken after each attempt is committed, on any replica
    if checked == MAX_LOGIN_FAILURES:  # the usual race: five got through to argon2, all wrong
        with pytest.raises(LoginThrottled):
            attempt_sign_in("officer.two", "a long password", client=ATTACKER)
    else:  # all arrived before any was counted: each saw too many and took itself back, none was checked
        assert attempt_sign_in("officer.two", "a long password", client=ATTACKER)
    age_login_failures(LOGIN_FAILURE_WINDOW + timedelta(seconds=1))
    assert attempt_sign_in("officer.two", "a long password", client=ATTACKER).username == "officer.two"


def test_an_address_locked_out_does_not_lock_out_the_owner(data_dir: Path) -> None:
    """An attacker keeps the name refused from their address; the owner, signing in from another address at the
    same instant as the attacker's burst and after it, gets in each time."""
    from models.accounts import MAX_LOGIN_FAILURES, LoginThrottled, attempt_sign_in

    _officer()
    outcomes = _guesses_at_once([(f"guess number {n}", ATTACKER) for n in range(12)] + [("a long password", OWNER)])
    assert outcomes[-1] == "in"
    assert "in" not in outcomes[:-1] and outcomes.count("checked") <= MAX_LOGIN_FAILURES
    for n in range(MAX_LOGIN_FAILURES):  # the attacker goes on until refused (however the burst was counted)
        try:
            attempt_sign_in("officer.two", f"more guessing {n}", client=ATTACKER)
        except LoginFailed:
            continue
        except LoginThrottled:
            break
    with pytest.raises(LoginThrottled):
        attempt_sign_in("officer.two", "a long password", client=ATTACKER)  # locked out there...
    assert attempt_sign_in("officer.two", "a long password", client=OWNER).username == "officer.two"  # not here
    assert attempt_sign_in("officer.two", "a long password", client="2001:db8:7:8::1").username == "officer.two"


def test_a_guess_spread_over_many_addresses_meets_the_per_username_ceiling(data_dir: Path) -> None:
    from datetime import timedelta

    from models.accounts import (
        LOGIN_FAILURE_WINDOW,
        MAX_LOGIN_FAILURES,
        MAX_LOGIN_FAILURES_PER_USERNAME,
        LoginThrottled,
        attempt_sign_in,
    )
    from tests.web.conftest import age_login_failures

    _officer()
    addresses = [f"203.0.113.{n}" for n in range(1, MAX_LOGIN_FAILURES_PER_USERNAME // MAX_LOGIN_FAILURES + 1)]
    for index, address in enumerate(addresses):
        for n in range(MAX_LOGIN_FAILURES - (1 if index == len(addresses) - 1 else 0)):
            with pytest.raises(LoginFailed):
                attempt_sign_in("officer.two", f"guess {n}", client=address)
    # One failure short of the ceiling, the owner gets in from an address of their own...
    assert attempt_sign_in("officer.two", "a long password", client=OWNER).username == "officer.two"
    with pytest.raises(LoginFailed):  # ...but the last attacking address has one guess left, and takes it
        attempt_sign_in("officer.two", "the fiftieth guess", client=addresses[-1])
    with pytest.raises(LoginThrottled) as refused:  # now no address is checked, the owner's neither
        attempt_sign_in("officer.two", "a long password", client=OWNER)
    assert "try again in 15 minutes" in refused.value.message
    with pytest.raises(LoginThrottled):
        attempt_sign_in("officer.two", "yet another guess", client="192.0.2.99")
    age_login_failures(LOGIN_FAILURE_WINDOW + timedelta(seconds=1))
    assert attempt_sign_in("officer.two", "a long password", client=OWNER).username == "officer.two"


def test_an_ipv6_client_is_counted_by_its_64_block(data_dir: Path) -> None:
    """Each address of a /64 is one client: stepping through them does not reset the count."""
    from models.accounts import MAX_LOGIN_FAILURES, LoginThrottled, attempt_sign_in, client_key

    assert client_key("::ffff:203.0.113.7") == ATTACKER
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:DB8:1:2::ffff") == "2001:db8:1:2::/64"
    assert client_key("testclient") == "testclient"
    _officer()
    for n in range(MAX_LOGIN_FAILURES):
        with pytest.raises(LoginFailed):
            attempt_sign_in("officer.two", f"guess {n}", client=f"2001:db8:1:2::{n + 1}")
    with pytest.raises(LoginThrottled):
        attempt_sign_in("officer.two", "a long password", client="2001:db8:1:2:ffff::9")
    assert attempt_sign_in("officer.two", "a long password", client="2001:db8:1:3::1").username == "officer.two"
