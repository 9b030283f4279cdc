"""What every command shares: the console, the actor, one way to fail."""

from __future__ import annotations

import errno
import functools
import getpass
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from config.settings import get_settings
from models.errors import ConsultrackError
from models.limits import ANY_PROCESS
from models.text import check_plain

if TYPE_CHECKING:
    from flows.operations import Operation

console = Console(highlight=False)
if not console.is_terminal:
    console = Console(highlight=False, width=int(os.environ.get("COLUMNS", "140")))
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
NOT_WRITABLE = "make the data directory writable by this user, or point CONSULTRACK_DATA_DIR at one"
P = ParamSpec("P")
R = TypeVar("R")

ProcessOpt = Annotated[str | None, typer.Option("--process", "-p", help="Process key; optional when there is one.")]
ActorOpt = Annotated[
    str | None,
    typer.Option("--actor", envvar="CONSULTRACK_ACTOR", help="Who is acting, for the audit log (default: your login)."),
]


def actor_name(actor: str | None) -> str:
    """Who acts, as the audit log records it: one line of plain text (models/text.py)."""
    return check_plain((actor or os.environ.get("USER") or getpass.getuser()).strip(), "--actor")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConsultrackError as exc:
            fail(exc.message, exc.exit_code)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            fail(f"cannot write {exc.filename or 'the data directory'} ({exc.strerror}): {NOT_WRITABLE}")

    return wrapper


def parse_date(value: str | None, what: str) -> date | None:
    """A date typed on the command line, within the range any stored date keeps (models/limits.py); the rules
    check it against the process's own range."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail(f"{what}: {value!r} is not a date (use YYYY-MM-DD)", 2)
    why = ANY_PROCESS.why_not(day)
    if why is not None:
        fail(f"{what}: {value} is {why}", 2)
    return day


def start_prefect_early() -> None:
    """A change is coming: the Prefect server it runs on is found, or started and kept, while the command imports its
    flows and reads its input (flows/kept_server.py). Not when the change may go through a service's API (we hold
    a token, consultrack/client.py): it needs no Prefect here."""
    from consultrack.client import api_token

    if api_token() is None:
        from flows.kept_server import start_early

        start_early()


def require_database() -> None:
    """Reading commands use an existing database; they never create one by accident."""
    settings = get_settings()
    if settings.database_url is None and not (settings.data_dir / "consultrack.db").exists():
        fail(f"no data in {Path(settings.data_dir).resolve()}: run 'consultrack init' (or 'consultrack demo') first")


def process_key_of(process: str | None, *, changes: bool = True) -> str:
    """The process a command is about (`--process`, or the only one); for a change, Prefect starts meanwhile."""
    require_database()
    if changes:
        start_prefect_early()
    from models.db import read_session
    from models.queries import only_process

    with read_session() as session:
        return only_process(session, process).key


def run_change(operation: Operation, **kwargs: Any) -> Any:
    """Run an operation's flow here, or through the service's API when a token is held (consultrack/client.py)."""
    from consultrack.client import run_operation

    return run_operation(operation, **kwargs)
