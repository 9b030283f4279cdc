"""`consultrack account ...` and `consultrack api-token ...`: secretariat accounts for the dashboard, and tokens
for scripts and for the CLI itself (a CLI holding a token sends its changes through a running service)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from config import clock
from config.settings import get_settings
from consultrack.cli.common import ActorOpt, actor_name, console, fail, require_database

account_app = typer.Typer(no_args_is_help=True, help="Secretariat accounts for the dashboard (admin or viewer).")
token_app = typer.Typer(no_args_is_help=True, help="API tokens for scripts and the CLI.")


def _password(from_stdin: bool, generate: bool) -> str:
    if generate:
        return secrets.token_urlsafe(12)
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@account_app.command("create")
def create(
    username: str,
    role: Annotated[str, typer.Option(help="admin (may change things) or viewer (may only look)")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    generate: Annotated[bool, typer.Option("--generate", help="Generate a password and print it once.")] = False,
    actor: ActorOpt = None,
) -> None:
    """Create an account; the password is stored only as an argon2 hash."""
    from models.accounts import create_account
    from models.db import migrate, session_scope
    from models.enums import AccountRole

    if role not in {r.value for r in AccountRole}:
        fail(f"--role must be admin or viewer, not {role!r}", 2)
    migrate()
    password = _password(password_stdin, generate)
    with session_scope() as session:
        account = create_account(
            session, username, password, AccountRole(role), actor=actor_name(actor), now=clock.now()
        )
        name = account.username
    console.print(f"account {name} created ({role})")
    if generate:
        console.print(f"password: {password}")


@account_app.command("list")
def list_() -> None:
    """Accounts, their roles and whether they are disabled."""
    require_database()
    from models.accounts import list_accounts
    from models.db import read_session

    table = Table("Username", "Role", "Created (UTC)", "Status")
    with read_session() as session:
        for a in list_accounts(session):
            table.add_row(
                a.username, a.role.value, f"{a.created_at:%Y-%m-%d %H:%M}", "disabled" if a.disabled else "active"
            )
    console.print(table)


@account_app.command("disable")
def disable(username: str, actor: ActorOpt = None) -> None:
    """Disable an account: its sessions end at their next request and its API tokens are revoked."""
    require_database()
    from models.accounts import disable_account
    from models.db import session_scope

    with session_scope() as session:
        disable_account(session, username, actor=actor_name(actor), now=clock.now())
    console.print(f"account {username} disabled; its API tokens are revoked")


def token_file() -> Path:
    return Path(get_settings().data_dir) / "api-token"


@token_app.command("new")
def token_new(
    username: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    save: Annotated[bool, typer.Option("--save", help="Keep it in <data_dir>/api-token for this CLI to use.")] = False,
    actor: ActorOpt = None,
) -> None:
    """Issue an API token for an account. It is printed once; only its hash is kept."""
    require_database()
    from models.db import session_scope
    from models.token_rules import issue_api_token

    with session_scope() as session:
        issued = issue_api_token(session, username, label=label, actor=actor_name(actor), now=clock.now())
        token_id = issued.row.id
    if save:
        path = token_file()
        path.unlink(missing_ok=True)
        path.touch(mode=0o600)
        path.write_text(issued.secret + "\n")
        console.print(f"API token #{token_id} for {username} saved in {path} (the CLI uses it with a running service)")
    else:
        console.print(f"API token #{token_id} for {username} (shown once):")
        console.print(issued.secret, soft_wrap=True)


@token_app.command("list")
def token_list() -> None:
    """Tokens by id, account and label (never the secret)."""
    require_database()
    from models.db import read_session
    from models.token_rules import tokens_of
    from models.tokens import ApiToken

    table = Table("Id", "Account", "Label", "Created (UTC)", "Status")
    with read_session() as session:
        for t, a in tokens_of(session, ApiToken):
            table.add_row(
                str(t.id),
                a.username,
                t.label,
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live",
            )
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int, actor: ActorOpt = None) -> None:
    """Revoke a token by its id: scripts using it are refused from the next request."""
    require_database()
    from models.db import session_scope
    from models.token_rules import revoke_api_token

    with session_scope() as session:
        revoke_api_token(session, token_id, actor=actor_name(actor), now=clock.now())
    console.print(f"API token #{token_id} revoked")
