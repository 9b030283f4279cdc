"""Reminder flows: the sweep (send what is due now), the secretariat's digest, and a full replan.

The service's scheduler (consultrack/service.py) triggers `sweep_reminders` every minute and `send_digest` daily;
both are safe to run late, twice, or in two processes at once (see notifications/reminders/claims.py)."""

from __future__ import annotations

from typing import Any, cast

from prefect import flow
from sqlmodel import select

from config import clock
from flows.engine import in_transaction
from models.db import read_session
from models.lifecycle import opening_at, ready_stages
from models.process import Process
from notifications.reminders.digest import schedule_digests
from notifications.reminders.planner import replan_all
from notifications.reminders.sweep import sweep


async def open_windows() -> list[str]:
    """Start the ready stages whose window has opened, one `open-stages` flow run per process that has one (a
    read-only query first: most sweeps find none)."""
    from flows import stages

    now = clock.now()
    with read_session() as session:
        due = [
            process.key
            for process in session.exec(select(Process)).all()
            if any(opening_at(process, stage) <= now for stage in ready_stages(session, process))
        ]
    opened: list[str] = []
    for key in due:
        result = cast(dict[str, Any], await stages.open_stages(process_key=key))
        opened += result["opened"]
    return opened


@flow(name="sweep-reminders", flow_run_name="send reminders due now", persist_result=False)
async def sweep_reminders(max_batches: int | None = None) -> dict[str, Any]:
    opened = await open_windows()  # first: a stage that opens now sends its start notices in this sweep
    report = await sweep(max_batches=max_batches)
    return {**report.as_dict(), **({"opened": opened} if opened else {})}


@flow(name="send-digest", flow_run_name="reminders digest to the secretariat", persist_result=False)
async def send_digest() -> dict[str, Any]:
    added = in_transaction(lambda s: schedule_digests(s, clock.now()))
    report = await sweep()
    return {"digests": added, **report.as_dict()}


@flow(name="replan-reminders", flow_run_name="re-derive pending reminders", persist_result=False)
async def replan_reminders() -> dict[str, int]:
    result = in_transaction(lambda s: replan_all(s, clock.now()))
    return {"added": result.added, "moved": result.moved, "cancelled": result.cancelled}
