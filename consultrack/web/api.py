"""The JSON API under /api: the dashboard's operations for scripts and the CLI, with bearer API tokens.

Tokens, not cookies, authenticate here, so a browser cannot be tricked into calling it (no CSRF surface).
Viewer tokens may read; changes need an admin's token."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from config import clock
from consultrack.web.operations import clean_text, perform
from consultrack.web.preview import reschedule_preview as dry_run
from consultrack.web.security import Forbidden, Unauthorized
from models.account import Account
from models.audit import entries
from models.db import read_session
from models.enums import AccountRole, MeetingStatus
from models.gates import evaluate_gate
from models.process import Process
from models.queries import get_process, get_stage
from models.response import Response
from models.status import process_status

bearer = HTTPBearer(auto_error=False, description="An API token from `consultrack api-token new`.")
Text = Annotated[str, Field(max_length=2000)]
Key = Annotated[str, Field(max_length=200)]
PathKey = Annotated[str, Path(max_length=200)]
QueryKey = Annotated[str | None, Query(max_length=200)]


def token_account(credentials: HTTPAuthorizationCredentials | None) -> Account | None:
    """The live account whose API token this is, if any."""
    if credentials is None:
        return None
    from models.token_rules import account_for_token

    with read_session() as session:
        return account_for_token(session, credentials.credentials[:200])


def api_account(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Account:
    if credentials is None:
        raise Unauthorized("an API token is required: Authorization: Bearer <token>")
    account = token_account(credentials)
    if account is None:
        raise Unauthorized("this API token is unknown, revoked, or its account is disabled")
    return account


def api_admin(account: Annotated[Account, Depends(api_account)]) -> Account:
    if account.role is not AccountRole.ADMIN:
        raise Forbidden(f"{account.username} is a viewer: this API token may read but not change anything")
    return account


Reader = Annotated[Account, Depends(api_account)]
Admin = Annotated[Account, Depends(api_admin)]
router = APIRouter(prefix="/api", tags=["api"], responses={401: {"description": "no valid token"}})


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartIn(Input):
    override_reason: Text | None = None


class AdvanceIn(Input):
    approver: Key | None = None
    note: Text | None = None
    decision_text: Text | None = None
    decision_date: date | None = None
    proceed_reason: Text | None = None
    override_reason: Text | None = None


class SkipIn(Input):
    reason: Text


class RescheduleIn(Input):
    start: date | None = None
    end: date | None = None
    due: date | None = None
    confirm: bool = False
    reason: Text | None = Field(default=None, description="required to apply; ignored by the preview")


class ResponseIn(Input):
    member_state: Key
    received_on: date | None = Field(default=None, description="default: today in the process's time zone")
    channel: Key = "e-mail"
    note: Text = ""
    link: Text | None = None


class MeetingIn(Input):
    status: Literal["held", "cancelled"]
    reason: Text | None = None


class Message(BaseModel):
    error: str


ONE_LINE = frozenset({"approver", "member_state", "channel", "link"})
"""The text fields that are one line; the others (reasons, notes, decisions) may hold line breaks."""


def _texts(body: BaseModel, *required: str) -> dict[str, Any]:
    """Every text field through the same cleaning as the dashboard's forms (blank becomes None, or a refusal)."""
    values = body.model_dump()
    return {k: clean_text(v, k, required=k in required, multiline=k not in ONE_LINE)
            if isinstance(v, str) or k in required else v for k, v in values.items()}


ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Message} for code in (400, 401, 403, 404, 409, 422)}
ERRORS[503] = {"model": Message, "description": "the database is busy (another writer held it too long): nothing "
                                                "was written; try again after the seconds in Retry-After",
               "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}}


@router.get("/processes", responses=ERRORS)
def processes(_: Reader) -> list[dict[str, Any]]:
    with read_session() as session:
        rows = session.exec(select(Process).order_by(col(Process.id))).all()
        return [{"key": p.key, "title": p.title, "timezone": p.timezone} for p in rows]


@router.get("/processes/{process_key}", responses=ERRORS)
def process_detail(process_key: PathKey, _: Reader) -> dict[str, Any]:
    with read_session() as session:
        process = get_process(session, process_key)
        status = process_status(session, process, clock.now(), clock.today(process.timezone))
    return {"key": process.key, "title": process.title, "today": status.today.isoformat(), "stages": [
        {"key": r.stage.key, "name": r.stage.name, "state": r.stage.state.value, "start": r.stage.start_date,
         "end": r.stage.end_date, "due": r.stage.due_date, "tentative": r.stage.tentative,
         "owners": r.stage.owners, "gate": r.gate_text, "days_left": r.days_left, "overdue": r.overdue}
        for r in status.rows]}


@router.get("/processes/{process_key}/stages/{stage_key}", responses=ERRORS)
def stage_detail(process_key: PathKey, stage_key: PathKey, _: Reader) -> dict[str, Any]:
    with read_session() as session:
        process = get_process(session, process_key)
        stage = get_stage(session, process, stage_key)
        gate = evaluate_gate(session, process, stage, clock.now())
        responses = session.exec(select(Response).where(Response.stage_id == stage.id)).all()
        return {"key": stage.key, "name": stage.name, "activity": stage.activity, "state": stage.state.value,
                "start": stage.start_date, "end": stage.end_date, "due": stage.due_date, "version": stage.version,
                "gate": {"kind": gate.kind.value, "met": gate.met, "missing": gate.missing,
                         "checks": [{"label": c.label, "done": c.done, "detail": c.detail} for c in gate.checks]},
                "responses": [{"member_state": r.member_state_code, "received_on": r.received_on,
                               "channel": r.channel, "note": r.note} for r in responses]}


@router.post("/processes/{process_key}/stages/{stage_key}/start", responses=ERRORS)
async def start(process_key: PathKey, stage_key: PathKey, body: StartIn, account: Admin,
                request: Request) -> dict[str, Any]:
    return await perform(request.app, "start_stage", process_key=process_key, stage_key=stage_key,
                         actor=account.username, **_texts(body))


@router.post("/processes/{process_key}/stages/{stage_key}/advance", responses=ERRORS)
async def advance(process_key: PathKey, stage_key: PathKey, body: AdvanceIn, account: Admin,
                  request: Request) -> dict[str, Any]:
    return await perform(request.app, "advance_stage", process_key=process_key, stage_key=stage_key,
                         actor=account.username, **_texts(body))


@router.post("/processes/{process_key}/stages/{stage_key}/skip", responses=ERRORS)
async def skip(process_key: PathKey, stage_key: PathKey, body: SkipIn, account: Admin,
               request: Request) -> dict[str, Any]:
    return await perform(request.app, "skip_stage", process_key=process_key, stage_key=stage_key,
                         actor=account.username, **_texts(body, "reason"))


@router.post("/processes/{process_key}/stages/{stage_key}/reschedule/preview", responses=ERRORS)
def reschedule_preview(process_key: PathKey, stage_key: PathKey, body: RescheduleIn,
                       account: Admin) -> dict[str, Any]:
    """What the reschedule would change, as the dashboard shows it: stages and meetings that move, reminders
    planned, moved or cancelled, and the calendar events whose SEQUENCE goes up. Nothing is stored. Admins only,
    as on the dashboard: the preview is a change rolled back, and only those who may change ask for one."""
    preview = dry_run(process_key, stage_key, start=body.start, end=body.end, due=body.due, confirm=body.confirm,
                      actor=account.username, now=clock.now())
    plan = preview.plan
    return {"stages": [{"key": m.key, "old": [m.old_start, m.old_end, m.old_due],
                        "new": [m.new_start, m.new_end, m.new_due], "because": m.because} for m in plan.stages],
            "meetings": [{"key": m.key, "old_day": m.old_day, "new_day": m.new_day} for m in plan.meetings],
            "reminders": [{"person": r.person, "stage": r.stage, "rule": r.rule, "before": r.before,
                           "after": r.after} for r in preview.reminders],
            "events": [{"uid": e.uid, "title": e.title, "before": e.before, "after": e.after,
                        "sequence": list(e.sequence)} for e in preview.events]}


@router.post("/processes/{process_key}/stages/{stage_key}/reschedule", responses=ERRORS)
async def reschedule(process_key: PathKey, stage_key: PathKey, body: RescheduleIn, account: Admin,
                     request: Request) -> dict[str, Any]:
    values = _texts(body, "reason")
    return await perform(request.app, "reschedule_stage", process_key=process_key, stage_key=stage_key,
                         actor=account.username, **values)


@router.post("/processes/{process_key}/stages/{stage_key}/responses", responses=ERRORS)
async def record_response(process_key: PathKey, stage_key: PathKey, body: ResponseIn, account: Admin,
                          request: Request) -> dict[str, Any]:
    values = _texts(body, "member_state", "channel")
    if values["received_on"] is None:
        with read_session() as session:
            values["received_on"] = clock.today(get_process(session, process_key).timezone)
    values["note"] = values["note"] or ""
    return await perform(request.app, "record_response", process_key=process_key, stage_key=stage_key,
                         actor=account.username, **values)


@router.post("/processes/{process_key}/meetings/{meeting_key}/status", responses=ERRORS)
async def meeting_status(process_key: PathKey, meeting_key: PathKey, body: MeetingIn, account: Admin,
                         request: Request) -> dict[str, Any]:
    return await perform(request.app, "set_meeting_status", process_key=process_key, meeting_key=meeting_key,
                         status=MeetingStatus(body.status), actor=account.username,
                         reason=clean_text(body.reason, "reason", multiline=True))


@router.get("/audit", responses=ERRORS)
def audit(_: Reader, process: QueryKey = None, stage: QueryKey = None, action: QueryKey = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    with read_session() as session:
        return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "process": e.process_key,
                 "stage": e.stage_key, "before": e.before, "after": e.after, "reason": e.reason}
                for e in entries(session, process=process, stage=stage, action=action, limit=limit)]
