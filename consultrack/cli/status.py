"""`consultrack status`: the timeline at a glance and who owes what. Reads only; imports no Prefect."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from consultrack.cli.common import ProcessOpt, console, require_database

STATE_STYLE = {"planned": "dim", "active": "bold cyan", "completed": "green", "skipped": "yellow"}


def window_text(stage: object) -> str:
    from models.process import Stage

    assert isinstance(stage, Stage)
    start, end = stage.start_date, stage.end_date
    text = f"{start:%d %b %Y}" if start == end else f"{start:%d %b} - {end:%d %b %Y}"
    if stage.tentative:
        text += " (to be confirmed)"
    return text


def render_status(process_key: str | None) -> None:
    from config import clock
    from models.db import read_session
    from models.queries import only_process
    from models.status import process_status

    with read_session() as session:
        process = only_process(session, process_key)
        now = clock.now()
        status = process_status(session, process, now, clock.today(process.timezone))

    console.print(f"[bold]{process.title}[/]  ({process.key}; today {status.today:%d %B %Y}, {process.timezone})")
    table = Table("#", "Stage")
    table.add_column("Window", no_wrap=True)
    table.add_column("Owners")
    table.add_column("State", no_wrap=True)
    table.add_column("Gate", ratio=1)
    table.add_column("Deadline", no_wrap=True)
    for row in status.rows:
        s = row.stage
        state = Text(s.state.value.upper() if row.overdue else s.state.value, style=STATE_STYLE[s.state.value])
        when = Text(row.when, style="bold red" if row.overdue else "")
        table.add_row(
            str(s.position),
            f"{s.name}\n[dim]{s.key}[/]",
            window_text(s),
            ", ".join(s.owners),
            state,
            Text(row.gate_text, style="green" if row.gate.met else ""),
            when,
        )
    console.print(table)
    if status.responses:
        matrix = Table("Stage", *[m.code for m in status.states], title="Responses from member States")
        for row in status.rows:
            if row.stage.key not in status.responses:
                continue
            got = status.responses[row.stage.key]
            cells = []
            for m in status.states:
                r = got.get(m.code)
                cells.append(
                    Text(f"yes {r.received_on:%d %b}\n{r.channel}", style="green")
                    if r
                    else Text("waiting" if row.stage.state.value == "active" else "-", style="dim")
                )
            matrix.add_row(row.stage.key, *cells)
        console.print(matrix)
        console.print("  " + ", ".join(f"{m.code} = {m.name}" for m in status.states), style="dim")


def status(
    process: ProcessOpt = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Also show the reminder history of this stage.")] = None,
) -> None:
    """The timeline: stage, window, owners, state, gate, days left or overdue; the response matrix; failed
    reminders (and with --stage, that stage's reminder history)."""
    require_database()
    render_status(process)
    from consultrack.cli.remind import render_reminders

    render_reminders(process, stage)
