"""Setting up: the database, templates, processes, the directory, and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR
from consultrack.cli.common import ActorOpt, actor_name, console, parse_date, require_database

template_app = typer.Typer(no_args_is_help=True, help="Process templates (YAML).")
process_app = typer.Typer(no_args_is_help=True, help="Processes: instances of a template.")
directory_app = typer.Typer(no_args_is_help=True, help="Member States and people.")

DEFAULT_TEMPLATE = PROCESS_TEMPLATES_DIR / "neaspec-sp-2026-2030.yaml"
DEFAULT_DIRECTORY = DIRECTORY_SAMPLES_DIR / "sample.yaml"


def init(
    template: Annotated[Path | None, typer.Option(help="A process template to create a process from.")] = None,
    directory: Annotated[Path | None, typer.Option(help="A directory file (YAML or CSV) to import.")] = None,
    sample: Annotated[bool, typer.Option(help="Use the NEASPEC 2026-2030 template and the sample directory.")] = False,
    actor: ActorOpt = None,
) -> None:
    """Create or upgrade the database; optionally import a directory and create a process.

    Both files are read and validated before anything is written, and given both, one transaction writes them:
    a template or a directory that would be refused leaves the database as it was, never half set up."""
    from models.db import migrate
    from models.directory_import import read_directory
    from models.template import load_template

    if sample:
        template, directory = template or DEFAULT_TEMPLATE, directory or DEFAULT_DIRECTORY
    if directory is not None:
        read_directory(directory)  # a bad file raises InvalidInput before the database is touched
    if template is not None:
        load_template(template)
    migrate()
    console.print("database ready")
    if directory is not None and template is not None:
        _set_up(directory, template, actor)
    elif directory is not None:
        _import_directory(directory, actor)
    elif template is not None:
        _create_process(template, actor)


def _set_up(directory: Path, template: Path, actor: str | None) -> None:
    from flows import setup
    from flows.engine import run

    result = run(setup.set_up, directory_path=directory, template_path=template, actor=actor_name(actor))
    console.print(f"directory imported from {directory}: {result['added']} added, {result['updated']} updated")
    console.print(f"process {result['process']} created with {result['stages']} stages")


def _import_directory(path: Path, actor: str | None) -> None:
    from flows import setup
    from flows.engine import run

    counts = run(setup.import_directory_file, path=path, actor=actor_name(actor))
    console.print(f"directory imported from {path}: {counts['added']} added, {counts['updated']} updated")


def _create_process(path: Path, actor: str | None) -> None:
    from flows import setup
    from flows.engine import run

    result = run(setup.create_process, template_path=path, actor=actor_name(actor))
    console.print(f"process {result['process']} created with {result['stages']} stages")


@template_app.command("validate")
def template_validate(file: Path) -> None:
    """Check a template without storing anything."""
    from models.template import load_template

    template = load_template(file)
    console.print(
        f"{file}: valid: process {template.key}, {len(template.stages)} stages, "
        f"{sum(len(s.meetings) for s in template.stages)} meetings"
    )


@template_app.command("list")
def template_list() -> None:
    """The templates shipped with consultrack."""
    for path in sorted(PROCESS_TEMPLATES_DIR.glob("*.yaml")):
        console.print(str(path))


@process_app.command("create")
def process_create(template: Path, actor: ActorOpt = None) -> None:
    """Create a process from a template file."""
    require_database()
    _create_process(template, actor)


@process_app.command("list")
def process_list() -> None:
    """The processes in the database."""
    require_database()
    from sqlmodel import col, select

    from models.db import read_session
    from models.process import Process

    with read_session() as session:
        for process in session.exec(select(Process).order_by(col(Process.id))).all():
            console.print(f"{process.key}  {process.title}  ({process.timezone})")


@directory_app.command("import")
def directory_import(file: Path, actor: ActorOpt = None) -> None:
    """Import member States and people from YAML or CSV; all rows or none."""
    require_database()
    _import_directory(file, actor)


@directory_app.command("list")
def directory_list() -> None:
    """People by member State."""
    require_database()
    from sqlmodel import select

    from models.db import read_session
    from models.directory import Person

    table = Table("Name", "E-mail", "Role", "State", "Time zone")
    with read_session() as session:
        for p in session.exec(select(Person).order_by(Person.member_state_code, Person.role, Person.name)).all():
            table.add_row(p.name, p.email, p.role.value, p.member_state_code or "", p.timezone or "")
    console.print(table)


def demo(
    until: Annotated[str, typer.Option(help="Replay the real history up to this date (YYYY-MM-DD).")] = "2025-03-20",
    reset: Annotated[bool, typer.Option(help="Start from an empty data directory.")] = True,
) -> None:
    """Build the NEASPEC 2026-2030 demo: template, sample directory, history replayed through the flows."""
    from consultrack.cli.status import render_status
    from consultrack.demo import build_demo

    day = parse_date(until, "--until")
    assert day is not None
    build_demo(day, reset=reset, say=console.print)
    render_status(None)
