"""Flows for every state-changing operation on a process (declared in flows/operations.py). The run name names the
process and the stage; a refusal fails the run (flows/engine.py: refusals_as_failures)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from sqlmodel import Session

from config import clock
from flows.engine import in_transaction, refusals_as_failures
from models import lifecycle, schedule
from models.gates import GateInputs
from models.queries import get_process, get_stage
from notifications.reminders import notices
from notifications.reminders.planner import replan_key


async def _apply(operation: Any, process_key: str) -> Any:
    def body(session: Session) -> Any:
        result = operation(session)
        replan_key(session, process_key, clock.now())  # the reminders follow the change, in its transaction
        return result

    return in_transaction(body)


@flow(name="start-stage", flow_run_name="{process_key}: start {stage_key}", persist_result=False)
@refusals_as_failures
async def start_stage(
    process_key: str, stage_key: str, actor: str, override_reason: str | None = None
) -> dict[str, Any]:
    stage = await _apply(
        lambda s: lifecycle.start_stage(
            s, process_key, stage_key, actor=actor, now=clock.now(), override_reason=override_reason
        ),
        process_key,
    )
    return {"stage": stage.key, "state": stage.state.value}


@flow(name="advance-stage", flow_run_name="{process_key}: advance {stage_key}", persist_result=False)
@refusals_as_failures
async def advance_stage(
    process_key: str,
    stage_key: str,
    actor: str,
    approver: str | None = None,
    note: str | None = None,
    decision_text: str | None = None,
    decision_date: date | None = None,
    proceed_reason: str | None = None,
    override_reason: str | None = None,
) -> dict[str, Any]:
    inputs = GateInputs(approver, note, decision_text, decision_date, proceed_reason)
    result = await _apply(
        lambda s: lifecycle.advance_stage(
            s, process_key, stage_key, actor=actor, now=clock.now(), inputs=inputs, override_reason=override_reason
        ),
        process_key,
    )
    return {
        "stage": result.stage.key,
        "state": result.stage.state.value,
        "started": result.started,
        "overridden": result.overridden,
        "gate": result.gate.summary,
    }


@flow(name="skip-stage", flow_run_name="{process_key}: skip {stage_key}", persist_result=False)
@refusals_as_failures
async def skip_stage(process_key: str, stage_key: str, actor: str, reason: str) -> dict[str, Any]:
    stage = await _apply(
        lambda s: lifecycle.skip_stage(s, process_key, stage_key, actor=actor, now=clock.now(), reason=reason),
        process_key,
    )
    return {"stage": stage.key, "state": stage.state.value}


@flow(name="reschedule-stage", flow_run_name="{process_key}: reschedule {stage_key}", persist_result=False)
@refusals_as_failures
async def reschedule_stage(
    process_key: str,
    stage_key: str,
    actor: str,
    reason: str,
    start: date | None = None,
    end: date | None = None,
    due: date | None = None,
    confirm: bool = False,
    move_meetings: list[str] | None = None,
    keep_meetings: list[str] | None = None,
) -> dict[str, Any]:
    plan = await _apply(
        lambda s: schedule.apply_reschedule(
            s,
            process_key,
            stage_key,
            actor=actor,
            now=clock.now(),
            reason=reason,
            start=start,
            end=end,
            due=due,
            confirm=confirm,
            move_meetings=move_meetings or (),
            keep_meetings=keep_meetings or (),
        ),
        process_key,
    )
    return {
        "stage": stage_key,
        "moved": [m.key for m in plan.stages],
        "meetings": [m.key for m in plan.meetings],
        "kept": [a.key for a in plan.agreed if not a.moves],
        "warnings": plan.warnings,
    }


@flow(
    name="record-response",
    flow_run_name="{process_key}: response to {stage_key} from {member_state}",
    persist_result=False,
)
@refusals_as_failures
async def record_response(
    process_key: str,
    stage_key: str,
    member_state: str,
    actor: str,
    received_on: date | None = None,
    channel: str = "e-mail",
    note: str = "",
    link: str | None = None,
) -> dict[str, Any]:
    response = await _apply(
        lambda s: lifecycle.record_response(
            s,
            process_key,
            stage_key,
            member_state,
            received_on=received_on,
            actor=actor,
            now=clock.now(),
            channel=channel,
            note=note,
            link=link,
        ),
        process_key,
    )
    return {
        "stage": stage_key,
        "member_state": response.member_state_code,
        "received_on": response.received_on.isoformat(),
    }


@flow(
    name="correct-response",
    flow_run_name="{process_key}: correct the response to {stage_key} from {member_state}",
    persist_result=False,
)
@refusals_as_failures
async def correct_response(
    process_key: str,
    stage_key: str,
    member_state: str,
    actor: str,
    reason: str,
    received_on: date | None = None,
    channel: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    response = await _apply(
        lambda s: lifecycle.correct_response(
            s,
            process_key,
            stage_key,
            member_state,
            actor=actor,
            now=clock.now(),
            reason=reason,
            received_on=received_on,
            channel=channel,
            note=note,
        ),
        process_key,
    )
    return {
        "stage": stage_key,
        "member_state": response.member_state_code,
        "received_on": response.received_on.isoformat(),
        "channel": response.channel,
        "note": response.note,
    }


@flow(
    name="withdraw-response",
    flow_run_name="{process_key}: withdraw the response to {stage_key} from {member_state}",
    persist_result=False,
)
@refusals_as_failures
async def withdraw_response(
    process_key: str, stage_key: str, member_state: str, actor: str, reason: str
) -> dict[str, Any]:
    """The State owes the stage again: the re-plan in the same transaction brings its reminders back."""
    kept = await _apply(
        lambda s: lifecycle.withdraw_response(
            s, process_key, stage_key, member_state, actor=actor, now=clock.now(), reason=reason
        ),
        process_key,
    )
    return {"stage": stage_key, "member_state": kept.member_state_code, "withdrawn": True}


@flow(name="undo-advance", flow_run_name="{process_key}: undo the advance of {stage_key}", persist_result=False)
@refusals_as_failures
async def undo_advance(process_key: str, stage_key: str, actor: str, reason: str) -> dict[str, Any]:
    def undo(session: Session) -> tuple[list[str], int]:
        """The stages the advance started go back to planned, and whoever was told they began hears it was in
        error, in the same transaction (before the re-plan cancels their reminders)."""
        now = clock.now()
        put_back = lifecycle.undo_advance(session, process_key, stage_key, actor=actor, now=now, reason=reason)
        process = get_process(session, process_key)
        told = sum(
            notices.plan_started_in_error(session, process, get_stage(session, process, key), now=now, reason=reason)
            for key in put_back
        )
        return put_back, told

    put_back, told = await _apply(undo, process_key)
    return {"stage": stage_key, "state": "active", "put_back": put_back, "notices": told}


@flow(name="open-stages", flow_run_name="{process_key}: open the stages whose window opened", persist_result=False)
@refusals_as_failures
async def open_stages(process_key: str) -> dict[str, Any]:
    """Run by the sweep: each stage whose predecessors are done starts by itself when its window opens."""
    opened = await _apply(lambda s: lifecycle.open_ready_stages(s, process_key, now=clock.now()), process_key)
    return {"opened": opened}
