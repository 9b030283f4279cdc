"""`consultrack audit`: the append-only log, newest first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from consultrack.cli.common import console, require_database


def audit(
    process: Annotated[str | None, typer.Option("--process", "-p")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage (or meeting) key.")] = None,
    action: Annotated[str | None, typer.Option(help="Only actions starting with this, e.g. stage.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """Who changed what, when, from what to what, and why."""
    require_database()
    from models.audit import entries
    from models.db import read_session

    table = Table("When (UTC)", "Who", "Action", "Stage", "Before", "After", "Why")
    with read_session() as session:
        for e in entries(session, process=process, stage=stage, action=action, limit=limit):
            table.add_row(
                f"{e.at:%Y-%m-%d %H:%M}",
                e.actor,
                e.action,
                e.stage_key or "",
                _brief(e.before),
                _brief(e.after),
                e.reason or "",
            )
    console.print(table)


def _brief(values: dict[str, object] | None) -> str:
    if not values:
        return ""
    return ", ".join(f"{k}={v}" for k, v in values.items() if k != "version")
