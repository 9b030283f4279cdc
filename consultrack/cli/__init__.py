"""The `consultrack` command. Reading commands never import Prefect; changing commands run flows.

The one place for function-local imports: each command imports what it needs inside its own body, so that
`consultrack --help` and a reading command do not pay for Prefect, Alembic or the web app they never use. Everywhere
else imports sit at the top of the module, except Prefect where a flow is run (`consultrack/web/operations.py`,
`flows/operations.py`), Alembic where migrations run (`models/db.py`) and the Prefect client in
`flows/prefect_server.py`, which must be imported only after `flows/runtime.py` has set Prefect's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from consultrack.cli import accounts as accounts_cmd
from consultrack.cli import audit as audit_cmd
from consultrack.cli import data as data_cmd
from consultrack.cli import feed as feed_cmd
from consultrack.cli import invite as invite_cmd  # noqa: F401 - registers `meeting invite`
from consultrack.cli import meeting as meeting_cmd
from consultrack.cli import remind as remind_cmd
from consultrack.cli import serve as serve_cmd
from consultrack.cli import stage as stage_cmd
from consultrack.cli import status as status_cmd
from consultrack.cli import worker as worker_cmd
from consultrack.cli.common import err_console, guarded

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    help="Workflow and deadline tracker for intergovernmental consultation processes.",
)


@app.callback()
def _global(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="CONSULTRACK_DATA_DIR",
            help="Where the database, Prefect's home and the mailbox live.",
        ),
    ] = None,
) -> None:
    if data_dir is not None:
        os.environ["CONSULTRACK_DATA_DIR"] = str(data_dir)
        from config.settings import reset_settings

        reset_settings()


app.command("init")(data_cmd.init)
app.command("demo")(data_cmd.demo)
app.command("status")(status_cmd.status)
app.command("audit")(audit_cmd.audit)
app.add_typer(data_cmd.template_app, name="template")
app.add_typer(data_cmd.process_app, name="process")
app.add_typer(data_cmd.directory_app, name="directory")
app.add_typer(stage_cmd.stage_app, name="stage")
app.add_typer(stage_cmd.response_app, name="response")
app.add_typer(meeting_cmd.meeting_app, name="meeting")
app.add_typer(remind_cmd.remind_app, name="remind")
app.add_typer(feed_cmd.feed_app, name="feed")
app.command("serve")(serve_cmd.serve)
app.command("worker")(worker_cmd.worker)
app.add_typer(accounts_cmd.account_app, name="account")
app.add_typer(accounts_cmd.token_app, name="api-token")


def _guard_all(typer_app: typer.Typer) -> None:
    """Every command turns a refusal into one message on stderr and a non-zero exit, never a traceback."""
    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = guarded(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _guard_all(group.typer_instance)


_guard_all(app)


READ_ONLY = {"status", "audit"}
"""Commands that only read. Once their output is out, the process ends without tearing the interpreter down:
unloading SQLAlchemy's and pydantic's object graphs takes about a fifth of `status`'s wall time
(bench/status_startup.py), and a read-only command has nothing left to save or close but its connections."""


def main() -> None:
    from config.settings import InvalidSettings, get_settings

    try:
        get_settings()
    except InvalidSettings as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise SystemExit(2) from None
    if len(sys.argv) < 2 or sys.argv[1] not in READ_ONLY:
        app()
        return
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if "models.db" in sys.modules:
        sys.modules["models.db"].dispose_engines()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
