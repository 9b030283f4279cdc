"""Flows that load data: a process from its template, the directory from a file, or both at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.states import State
from sqlmodel import Session

from config import clock
from flows.engine import in_transaction, refusal
from models.directory_import import import_directory, read_directory
from models.errors import ConsultrackError
from models.processes import create_process as create_process_rule
from models.template import load_template
from notifications.reminders.planner import replan_all


@flow(name="create-process", flow_run_name="create process from {template_path.name}", persist_result=False)
async def create_process(template_path: Path, actor: str) -> dict[str, Any] | State:
    try:
        template = load_template(template_path)
        process = in_transaction(lambda s: create_process_rule(
            s, template, actor=actor, now=clock.now(), template_name=template_path.name))
    except ConsultrackError as exc:
        return refusal(exc)
    return {"process": process.key, "stages": len(template.stages)}


@flow(name="import-directory", flow_run_name="import directory from {path.name}", persist_result=False)
async def import_directory_file(path: Path, actor: str) -> dict[str, Any] | State:
    try:
        directory = read_directory(path)
        counts = in_transaction(lambda s: _then_replan(s, import_directory(
            s, directory, source=str(path), actor=actor, now=clock.now())))
    except ConsultrackError as exc:
        return refusal(exc)
    return counts


@flow(name="set-up", flow_run_name="set up from {directory_path.name} and {template_path.name}", persist_result=False)
async def set_up(directory_path: Path, template_path: Path, actor: str) -> dict[str, Any] | State:
    """A directory and a process in one transaction (`consultrack init`): both are set up, or neither."""
    try:
        directory, template = read_directory(directory_path), load_template(template_path)

        def both(session: Session) -> dict[str, Any]:
            now = clock.now()
            counts = import_directory(session, directory, source=str(directory_path), actor=actor, now=now)
            process = create_process_rule(session, template, actor=actor, now=now, template_name=template_path.name)
            replan_all(session, now)
            return {**counts, "process": process.key, "stages": len(template.stages)}

        return in_transaction(both)
    except ConsultrackError as exc:
        return refusal(exc)


def _then_replan(session: Session, counts: dict[str, int]) -> dict[str, int]:
    """A person replaced in the directory changes who is reminded: re-derive in the import's transaction."""
    replan_all(session, clock.now())
    return counts
