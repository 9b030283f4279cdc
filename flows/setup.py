"""Flows that load data: a process from its template, the directory from a file, or both at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from sqlmodel import Session

from config import clock
from flows.engine import in_transaction, refusals_as_failures
from models.directory_import import import_directory, read_directory
from models.processes import create_process as create_process_rule
from models.template import load_template
from notifications.reminders.planner import replan_all


@flow(name="create-process", flow_run_name="create process from {template_path.name}", persist_result=False)
@refusals_as_failures
async def create_process(template_path: Path, actor: str) -> dict[str, Any]:
    template = load_template(template_path)
    process = in_transaction(
        lambda s: create_process_rule(s, template, actor=actor, now=clock.now(), template_name=template_path.name)
    )
    return {"process": process.key, "stages": len(template.stages)}


@flow(name="import-directory", flow_run_name="import directory from {path.name}", persist_result=False)
@refusals_as_failures
async def import_directory_file(path: Path, actor: str) -> dict[str, int]:
    directory = read_directory(path)
    return in_transaction(
        lambda s: _then_replan(s, import_directory(s, directory, source=str(path), actor=actor, now=clock.now()))
    )


@flow(name="set-up", flow_run_name="set up from {directory_path.name} and {template_path.name}", persist_result=False)
@refusals_as_failures
async def set_up(directory_path: Path, template_path: Path, actor: str) -> dict[str, Any]:
    """A directory and a process in one transaction (`consultrack init`): both are set up, or neither."""
    directory, template = read_directory(directory_path), load_template(template_path)

    def both(session: Session) -> dict[str, Any]:
        now = clock.now()
        counts = import_directory(session, directory, source=str(directory_path), actor=actor, now=now)
        process = create_process_rule(session, template, actor=actor, now=now, template_name=template_path.name)
        replan_all(session, now)
        return {**counts, "process": process.key, "stages": len(template.stages)}

    return in_transaction(both)


def _then_replan(session: Session, counts: dict[str, int]) -> dict[str, int]:
    """A person replaced in the directory changes who is reminded: re-derive in the import's transaction."""
    replan_all(session, clock.now())
    return counts
