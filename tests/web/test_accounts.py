"""Accounts and API tokens: argon2 at rest, one answer for every failed login, the CLI commands."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config import clock
from models.accounts import (
    LoginFailed,
    account_for_token,
    authenticate,
    create_account,
    disable_account,
    issue_api_token,
)
from models.db import read_session, session_scope
from models.enums import AccountRole
from models.errors import Conflict, InvalidInput


def test_passwords_are_argon2_hashed_and_verified(data_dir: Path) -> None:
    with session_scope() as session:
        account = create_account(session, "Officer.One", "a long password", AccountRole.ADMIN, actor="t",
                                 now=clock.now())
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


@pytest.mark.parametrize(("username", "password", "error"), [
    ("x", "a long password", InvalidInput), ("bad name", "a long password", InvalidInput),
    ("<script>", "a long password", InvalidInput), ("fine", "short", InvalidInput)])
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
    made = runner.invoke(app, ["account", "create", "cli.admin", "--role", "admin", "--password-stdin"],
                         input="a long password\n")
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


def test_concurrent_guesses_from_every_replica_are_throttled_together(data_dir: Path) -> None:
    """Twelve wrong passwords at the same instant (as from several replicas): at most five are checked, the
    rest refused unchecked; then the right password is refused too, until the window passes."""
    import threading
    from datetime import timedelta

    from models.accounts import LOGIN_FAILURE_WINDOW, MAX_LOGIN_FAILURES, LoginThrottled, attempt_sign_in

    with session_scope() as session:
        create_account(session, "officer.two", "a long password", AccountRole.ADMIN, actor="t", now=clock.now())
    now = clock.now()
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        start.wait()
        try:
            attempt_sign_in("officer.two", f"guess number {n}", now=now)
            outcomes.append("in")
        except LoginThrottled:
            outcomes.append("throttled")
        except LoginFailed:
            outcomes.append("checked")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 12 and "in" not in outcomes
    checked = outcomes.count("checked")
    assert checked <= MAX_LOGIN_FAILURES  # the count is taken after each attempt is committed, on any replica
    if checked == MAX_LOGIN_FAILURES:  # the usual race: five got through to argon2, all wrong
        with pytest.raises(LoginThrottled):
            attempt_sign_in("officer.two", "a long password", now=now + timedelta(seconds=1))
    else:  # all arrived before any was counted: each saw too many and took itself back, none was checked
        assert attempt_sign_in("officer.two", "a long password", now=now + timedelta(seconds=1))
    assert attempt_sign_in("officer.two", "a long password",
                           now=now + LOGIN_FAILURE_WINDOW + timedelta(seconds=1)).username == "officer.two"
