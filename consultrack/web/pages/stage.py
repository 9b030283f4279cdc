"""A stage: its page (gate, responses, reminders, meetings), the forms that change it, and the reschedule preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from config import clock
from consultrack.web.inputs import clean_text, parse_day
from consultrack.web.operations import perform
from consultrack.web.preview import reschedule_preview
from consultrack.web.rendering import render, see_other
from consultrack.web.security import CSRF_FIELD, AdminOnly, AdminPost, SignedIn, flash
from flows.operations import (
    ADVANCE,
    CORRECT_RESPONSE,
    OPERATIONS,
    RECORD_RESPONSE,
    RESCHEDULE,
    SKIP,
    START,
    UNDO_ADVANCE,
    WITHDRAW_RESPONSE,
    Operation,
)
from models.audience import active_secretariat
from models.db import read_session
from models.directory import Person
from models.enums import Ask, GateKind, Owner, StageState
from models.errors import ConsultrackError, NotFound
from models.gates import evaluate_gate
from models.meetings import attendance_of
from models.queries import deadline_at, get_process, get_stage, meetings_of, member_states, stages_of
from models.reminder import Reminder
from models.response import Response as StageResponse
from models.response import WithdrawnResponse
from notifications.reminders.planner import policy_of

router = APIRouter()


def _stage_context(process_key: str, stage_key: str) -> dict[str, Any]:
    now = clock.now()
    with read_session() as session:
        process = get_process(session, process_key)
        stage = get_stage(session, process, stage_key)
        today = clock.today(process.timezone)
        gate = evaluate_gate(session, process, stage, now)
        states = member_states(session)
        responses = {
            r.member_state_code: r
            for r in session.exec(select(StageResponse).where(StageResponse.stage_id == stage.id)).all()
        }
        withdrawn = session.exec(
            select(WithdrawnResponse)
            .where(WithdrawnResponse.stage_id == stage.id)
            .order_by(col(WithdrawnResponse.withdrawn_at))
        ).all()
        reminders = session.exec(
            select(Reminder, Person)
            .where(Reminder.stage_id == stage.id, Reminder.person_id == Person.id)
            .order_by(col(Reminder.send_at))
        ).all()
        meetings = [m for m in meetings_of(session, process) if m.stage_id == stage.id]
        # A stage that asks the States to attend its meeting (a meeting gate) shows who attends, not "waiting".
        attends = policy_of(process, stage).ask_of(Owner.MEMBER_STATES, stage.gate_kind) is Ask.ATTENDANCE
        attendance = {m.key: attendance_of(session, m) for m in meetings} if attends else {}
        approvers = active_secretariat(session)
        stages = {s.key: s for s in stages_of(session, process)}
    by_status: dict[str, list[tuple[Reminder, Person]]] = {}
    for reminder, person in reminders:
        by_status.setdefault(reminder.status.value, []).append((reminder, person))
    return {
        "process": process,
        "stage": stage,
        "gate": gate,
        "today": today,
        "states": states,
        "responses": responses,
        "withdrawn": withdrawn,
        "reminders": by_status,
        "meetings": meetings,
        "approvers": approvers,
        "deadline": deadline_at(stage, process),
        "days_left": stage.days_left(today),
        "asks_states": stage.owes_responses and not attends,
        "attendance": attendance,
        "GateKind": GateKind,
        "StageState": StageState,
        "predecessors": [stages[k] for k in stage.depends_on if k in stages],
        "values": {},
        "failed": None,
    }


@router.get("/p/{process_key}/stages/{stage_key}", response_class=HTMLResponse)
def stage_page(request: Request, process_key: str, stage_key: str, _: SignedIn) -> Response:
    return render(request, "stage.html", _stage_context(process_key, stage_key))


def _form_text(form: FormData, name: str, what: str, *, required: bool = False, multiline: bool = False) -> str | None:
    return clean_text(form.get(name), what, required=required, multiline=multiline)


def _start_args(form: FormData) -> dict[str, Any]:
    return {"override_reason": _form_text(form, "override_reason", "the reason to override", multiline=True)}


def _advance_args(form: FormData) -> dict[str, Any]:
    return {
        "approver": _form_text(form, "approver", "the approver"),
        "note": _form_text(form, "note", "the approval note", multiline=True),
        "decision_text": _form_text(form, "decision_text", "the decision text", multiline=True),
        "decision_date": parse_day(form.get("decision_date"), "the decision date"),
        "proceed_reason": _form_text(form, "proceed_reason", "the reason to proceed", multiline=True),
        "override_reason": _form_text(form, "override_reason", "the reason to override", multiline=True),
    }


def _skip_args(form: FormData) -> dict[str, Any]:
    return {"reason": _form_text(form, "reason", "a reason to skip", required=True, multiline=True)}


def _reschedule_args(form: FormData) -> dict[str, Any]:
    return {
        "start": parse_day(form.get("start"), "the new start"),
        "end": parse_day(form.get("end"), "the new end"),
        "due": parse_day(form.get("due"), "the new deadline"),
        "confirm": form.get("confirm") == "yes",
        "reason": _form_text(form, "reason", "a reason to reschedule", required=True, multiline=True),
        "move_meetings": [v for v in form.getlist("move_meeting") if isinstance(v, str) and v],
        "keep_meetings": [v for v in form.getlist("keep_meeting") if isinstance(v, str) and v],
    }


def _response_args(form: FormData) -> dict[str, Any]:
    return {
        "member_state": _form_text(form, "member_state", "the member State", required=True),
        "received_on": parse_day(form.get("received_on"), "the date received", required=True),
        "channel": _form_text(form, "channel", "the channel", required=True),
        "note": _form_text(form, "note", "the note", multiline=True) or "",
        "link": _form_text(form, "link", "the link"),
    }


def _correct_args(form: FormData) -> dict[str, Any]:
    return {
        "member_state": _form_text(form, "member_state", "the member State", required=True),
        "reason": _form_text(form, "reason", "a reason to correct a response", required=True, multiline=True),
        "received_on": parse_day(form.get("received_on"), "the date received"),
        "channel": _form_text(form, "channel", "the channel"),
        "note": _form_text(form, "note", "the note", multiline=True),
    }


def _withdraw_args(form: FormData) -> dict[str, Any]:
    return {
        "member_state": _form_text(form, "member_state", "the member State", required=True),
        "reason": _form_text(form, "reason", "a reason to withdraw a response", required=True, multiline=True),
    }


def _undo_args(form: FormData) -> dict[str, Any]:
    return {"reason": _form_text(form, "reason", "a reason to undo an advance", required=True, multiline=True)}


FORMS: dict[Operation, Callable[[FormData], dict[str, Any]]] = {
    START: _start_args,
    ADVANCE: _advance_args,
    SKIP: _skip_args,
    RESCHEDULE: _reschedule_args,
    RECORD_RESPONSE: _response_args,
    CORRECT_RESPONSE: _correct_args,
    WITHDRAW_RESPONSE: _withdraw_args,
    UNDO_ADVANCE: _undo_args,
}
"""How each form of the stage page becomes its operation's arguments."""
ACTIONS = {op.page_action: op for op in OPERATIONS.values() if op.on == "stage" and op.page_action is not None}
"""The operations the stage page offers, by the last segment of the form's address."""


def _done(operation: Operation, result: dict[str, Any]) -> str:
    if operation is ADVANCE:
        started = f"; started {', '.join(result['started'])}" if result["started"] else ""
        return f"{result['stage']} completed{' (gate overridden)' if result['overridden'] else ''}{started}."
    if operation is RESCHEDULE:
        kept = f" Agreed meetings kept: {', '.join(result['kept'])}." if result.get("kept") else ""
        return (
            f"Rescheduled: {', '.join(result['moved'])}"
            + (f"; meetings moved: {', '.join(result['meetings'])}." if result["meetings"] else ".")
            + kept
        )
    if operation is RECORD_RESPONSE:
        return f"Response from {result['member_state']} recorded (received {result['received_on']})."
    if operation is CORRECT_RESPONSE:
        return f"Response from {result['member_state']} corrected."
    if operation is WITHDRAW_RESPONSE:
        return f"Response from {result['member_state']} withdrawn: its reminders resume."
    if operation is UNDO_ADVANCE:
        back = f"; {', '.join(result['put_back'])} planned again" if result["put_back"] else ""
        return f"The advance of {result['stage']} was undone{back}."
    return f"{result['stage']} is now {result['state']}."


@router.post("/p/{process_key}/stages/{stage_key}/{action}", response_class=HTMLResponse)
async def stage_action(request: Request, process_key: str, stage_key: str, action: str, account: AdminPost) -> Response:
    form = await request.form()
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r} on a stage")
    operation = ACTIONS[action]
    try:
        result = await perform(
            request.app,
            operation,
            process_key=process_key,
            stage_key=stage_key,
            actor=account.username,
            **FORMS[operation](form),
        )
    except ConsultrackError as exc:
        context = _stage_context(process_key, stage_key)
        context.update(
            values={k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)},
            failed=action,
            error=exc.message,
        )
        return render(request, "stage.html", context, exc.http_status)
    flash(request, "ok", _done(operation, result))
    return see_other(f"/p/{quote(process_key)}/stages/{quote(result.get('stage', stage_key))}")


@router.get("/p/{process_key}/stages/{stage_key}/reschedule", response_class=HTMLResponse)
def reschedule_preview_page(
    request: Request,
    process_key: str,
    stage_key: str,
    start: str = "",
    end: str = "",
    due: str = "",
    confirm: str = "",
    move_meeting: list[str] = Query(default=[]),  # noqa: B008 - FastAPI's way to take a repeated parameter
    *,
    account: AdminOnly,
) -> Response:
    """Admins only, as in the API: the preview is a change rolled back (consultrack/web/preview.py). Each agreed
    meeting left outside its stage's new window stays unless ticked (`move_meeting`, repeated)."""

    values = {"start": start, "end": end, "due": due, "confirm": confirm}
    context = _stage_context(process_key, stage_key)
    try:
        preview = reschedule_preview(
            process_key,
            stage_key,
            start=parse_day(start, "the new start"),
            end=parse_day(end, "the new end"),
            due=parse_day(due, "the new deadline"),
            confirm=confirm == "yes",
            actor=account.username,
            now=clock.now(),
            move_meetings=tuple(move_meeting),
        )
    except ConsultrackError as exc:
        context.update(values=values, failed="reschedule", error=exc.message)
        return render(request, "stage.html", context, exc.http_status)
    context.update(values=values, preview=preview)
    return render(request, "reschedule.html", context)
