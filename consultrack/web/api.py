"""The JSON API under /api: the dashboard's operations for scripts and the CLI, with bearer API tokens.

Tokens, not cookies, authenticate here, so a browser cannot be tricked into calling it (no CSRF surface).
Viewer tokens may read; changes need an admin's token. Each operation's route is its path in the registry
(flows/operations.py); what the routes take and answer is in consultrack/web/schemas.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import col, select

from config import clock
from consultrack.web.inputs import clean_text
from consultrack.web.operations import perform
from consultrack.web.preview import reschedule_preview as dry_run
from consultrack.web.schemas import (
    AdvancedOut,
    AdvanceIn,
    AdvanceUndoneOut,
    AgreedMeetingOut,
    AuditEntryOut,
    CheckOut,
    EventChangeOut,
    GateOut,
    InvitedOut,
    MeetingChangedOut,
    MeetingIn,
    MeetingMoveOut,
    Message,
    ProcessDetailOut,
    ProcessOut,
    ReminderChangeOut,
    RescheduledOut,
    RescheduleIn,
    ReschedulePreviewOut,
    ResponseCorrectedOut,
    ResponseCorrectionIn,
    ResponseIn,
    ResponseOut,
    ResponseRecordedOut,
    ResponseWithdrawalIn,
    ResponseWithdrawnOut,
    SkipIn,
    StageChangedOut,
    StageDetailOut,
    StageMoveOut,
    StageRowOut,
    StartIn,
    UndoAdvanceIn,
)
from consultrack.web.security import Forbidden, Unauthorized
from flows.operations import (
    ADVANCE,
    CORRECT_RESPONSE,
    INVITE,
    MEETING_STATUS,
    RECORD_RESPONSE,
    RESCHEDULE,
    SKIP,
    START,
    UNDO_ADVANCE,
    WITHDRAW_RESPONSE,
)
from models.account import Account
from models.audit import entries
from models.db import read_session
from models.enums import AccountRole, MeetingStatus
from models.gates import evaluate_gate
from models.process import Process
from models.queries import get_process, get_stage
from models.response import Response
from models.status import process_status
from models.token_rules import account_for_token

bearer = HTTPBearer(auto_error=False, description="An API token from `consultrack api-token new`.")
PathKey = Annotated[str, Path(max_length=200)]
QueryKey = Annotated[str | None, Query(max_length=200)]


def token_account(credentials: HTTPAuthorizationCredentials | None) -> Account | None:
    """The live account whose API token this is, if any."""
    if credentials is None:
        return None

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


ONE_LINE = frozenset({"approver", "member_state", "channel", "link"})
"""The text fields that are one line; the others (reasons, notes, decisions) may hold line breaks."""


def _texts(body: BaseModel, *required: str) -> dict[str, Any]:
    """Every text field through the same cleaning as the dashboard's forms (blank becomes None, or a refusal)."""
    values = body.model_dump()
    return {
        k: clean_text(v, k, required=k in required, multiline=k not in ONE_LINE)
        if isinstance(v, str) or k in required
        else v
        for k, v in values.items()
    }


ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Message} for code in (400, 401, 403, 404, 409, 422)}
ERRORS[503] = {
    "model": Message,
    "description": "the database is busy (another writer held it too long): nothing "
    "was written; try again after the seconds in Retry-After",
    "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
}


@router.get("/processes", responses=ERRORS)
def processes(_: Reader) -> list[ProcessOut]:
    with read_session() as session:
        rows = session.exec(select(Process).order_by(col(Process.id))).all()
        return [ProcessOut(key=p.key, title=p.title, timezone=p.timezone) for p in rows]


@router.get("/processes/{process_key}", responses=ERRORS)
def process_detail(process_key: PathKey, _: Reader) -> ProcessDetailOut:
    with read_session() as session:
        process = get_process(session, process_key)
        status = process_status(session, process, clock.now(), clock.today(process.timezone))
    return ProcessDetailOut(
        key=process.key,
        title=process.title,
        today=status.today,
        stages=[
            StageRowOut(
                key=r.stage.key,
                name=r.stage.name,
                state=r.stage.state.value,
                start=r.stage.start_date,
                end=r.stage.end_date,
                due=r.stage.due_date,
                tentative=r.stage.tentative,
                owners=r.stage.owners,
                gate=r.gate_text,
                days_left=r.days_left,
                overdue=r.overdue,
            )
            for r in status.rows
        ],
    )


@router.get("/processes/{process_key}/stages/{stage_key}", responses=ERRORS)
def stage_detail(process_key: PathKey, stage_key: PathKey, _: Reader) -> StageDetailOut:
    with read_session() as session:
        process = get_process(session, process_key)
        stage = get_stage(session, process, stage_key)
        gate = evaluate_gate(session, process, stage, clock.now())
        responses = session.exec(select(Response).where(Response.stage_id == stage.id)).all()
        return StageDetailOut(
            key=stage.key,
            name=stage.name,
            activity=stage.activity,
            state=stage.state.value,
            start=stage.start_date,
            end=stage.end_date,
            due=stage.due_date,
            version=stage.version,
            gate=GateOut(
                kind=gate.kind.value,
                met=gate.met,
                missing=gate.missing,
                checks=[CheckOut(label=c.label, done=c.done, detail=c.detail) for c in gate.checks],
            ),
            responses=[
                ResponseOut(member_state=r.member_state_code, received_on=r.received_on, channel=r.channel, note=r.note)
                for r in responses
            ],
        )


@router.post(START.api_path, responses=ERRORS)
async def start(
    process_key: PathKey, stage_key: PathKey, body: StartIn, account: Admin, request: Request
) -> StageChangedOut:
    return StageChangedOut.model_validate(
        await perform(
            request.app, START, process_key=process_key, stage_key=stage_key, actor=account.username, **_texts(body)
        )
    )


@router.post(ADVANCE.api_path, responses=ERRORS)
async def advance(
    process_key: PathKey, stage_key: PathKey, body: AdvanceIn, account: Admin, request: Request
) -> AdvancedOut:
    return AdvancedOut.model_validate(
        await perform(
            request.app, ADVANCE, process_key=process_key, stage_key=stage_key, actor=account.username, **_texts(body)
        )
    )


@router.post(SKIP.api_path, responses=ERRORS)
async def skip(
    process_key: PathKey, stage_key: PathKey, body: SkipIn, account: Admin, request: Request
) -> StageChangedOut:
    return StageChangedOut.model_validate(
        await perform(
            request.app,
            SKIP,
            process_key=process_key,
            stage_key=stage_key,
            actor=account.username,
            **_texts(body, "reason"),
        )
    )


@router.post(RESCHEDULE.api_path + "/preview", responses=ERRORS)
def reschedule_preview(
    process_key: PathKey, stage_key: PathKey, body: RescheduleIn, account: Admin
) -> ReschedulePreviewOut:
    """What the reschedule would change, as the dashboard shows it: stages and meetings that move, reminders
    planned, moved or cancelled, and the calendar events whose SEQUENCE goes up. Nothing is stored. Admins only,
    as on the dashboard: the preview is a change rolled back, and only those who may change ask for one."""
    preview = dry_run(
        process_key,
        stage_key,
        start=body.start,
        end=body.end,
        due=body.due,
        confirm=body.confirm,
        actor=account.username,
        now=clock.now(),
        move_meetings=tuple(body.move_meetings),
        keep_meetings=tuple(body.keep_meetings),
        reason=body.reason,
    )
    plan = preview.plan
    return ReschedulePreviewOut(
        stages=[
            StageMoveOut(
                key=m.key,
                old=[m.old_start, m.old_end, m.old_due],
                new=[m.new_start, m.new_end, m.new_due],
                because=m.because,
            )
            for m in plan.stages
        ],
        meetings=[MeetingMoveOut(key=m.key, old_day=m.old_day, new_day=m.new_day) for m in plan.meetings],
        reminders=[
            ReminderChangeOut(person=r.person, stage=r.stage, rule=r.rule, before=r.before, after=r.after)
            for r in preview.reminders
        ],
        events=[
            EventChangeOut(uid=e.uid, title=e.title, before=e.before, after=e.after, sequence=list(e.sequence))
            for e in preview.events
        ],
        agreed=[
            AgreedMeetingOut(
                key=a.key,
                title=a.title,
                day=a.day,
                stage=a.stage,
                window=list(a.window),
                proposed=a.proposed,
                moves=a.moves,
            )
            for a in plan.agreed
        ],
        warnings=plan.warnings,
        summary=preview.summary,
    )


@router.post(RESCHEDULE.api_path, responses=ERRORS)
async def reschedule(
    process_key: PathKey, stage_key: PathKey, body: RescheduleIn, account: Admin, request: Request
) -> RescheduledOut:
    return RescheduledOut.model_validate(
        await perform(
            request.app,
            RESCHEDULE,
            process_key=process_key,
            stage_key=stage_key,
            actor=account.username,
            **_texts(body, "reason"),
        )
    )


@router.post(RECORD_RESPONSE.api_path, responses=ERRORS)
async def record_response(
    process_key: PathKey, stage_key: PathKey, body: ResponseIn, account: Admin, request: Request
) -> ResponseRecordedOut:
    values = _texts(body, "member_state", "channel")  # received_on None: today by this service's clock
    values["note"] = values["note"] or ""
    return ResponseRecordedOut.model_validate(
        await perform(
            request.app, RECORD_RESPONSE, process_key=process_key, stage_key=stage_key, actor=account.username, **values
        )
    )


@router.post(CORRECT_RESPONSE.api_path, responses=ERRORS)
async def correct_response(
    process_key: PathKey, stage_key: PathKey, body: ResponseCorrectionIn, account: Admin, request: Request
) -> ResponseCorrectedOut:
    return ResponseCorrectedOut.model_validate(
        await perform(
            request.app,
            CORRECT_RESPONSE,
            process_key=process_key,
            stage_key=stage_key,
            actor=account.username,
            **_texts(body, "member_state", "reason"),
        )
    )


@router.post(WITHDRAW_RESPONSE.api_path, responses=ERRORS)
async def withdraw_response(
    process_key: PathKey, stage_key: PathKey, body: ResponseWithdrawalIn, account: Admin, request: Request
) -> ResponseWithdrawnOut:
    """The State owes the stage again: its reminders are planned again in the same change."""
    return ResponseWithdrawnOut.model_validate(
        await perform(
            request.app,
            WITHDRAW_RESPONSE,
            process_key=process_key,
            stage_key=stage_key,
            actor=account.username,
            **_texts(body, "member_state", "reason"),
        )
    )


@router.post(UNDO_ADVANCE.api_path, responses=ERRORS)
async def undo_advance(
    process_key: PathKey, stage_key: PathKey, body: UndoAdvanceIn, account: Admin, request: Request
) -> AdvanceUndoneOut:
    return AdvanceUndoneOut.model_validate(
        await perform(
            request.app,
            UNDO_ADVANCE,
            process_key=process_key,
            stage_key=stage_key,
            actor=account.username,
            **_texts(body, "reason"),
        )
    )


@router.post(MEETING_STATUS.api_path, responses=ERRORS)
async def meeting_status(
    process_key: PathKey, meeting_key: PathKey, body: MeetingIn, account: Admin, request: Request
) -> MeetingChangedOut:
    return MeetingChangedOut.model_validate(
        await perform(
            request.app,
            MEETING_STATUS,
            process_key=process_key,
            meeting_key=meeting_key,
            status=MeetingStatus(body.status),
            actor=account.username,
            reason=clean_text(body.reason, "reason", multiline=True),
        )
    )


@router.post(INVITE.api_path, responses=ERRORS)
async def invite(process_key: PathKey, meeting_key: PathKey, account: Admin, request: Request) -> InvitedOut:
    """Invite the meeting's participants not yet invited; 422 when it invites nobody (nothing is written)."""
    return InvitedOut.model_validate(
        await perform(request.app, INVITE, process_key=process_key, meeting_key=meeting_key, actor=account.username)
    )


@router.get("/audit", responses=ERRORS)
def audit(
    _: Reader,
    process: QueryKey = None,
    stage: QueryKey = None,
    action: QueryKey = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    with read_session() as session:
        return [
            AuditEntryOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                process=e.process_key,
                stage=e.stage_key,
                before=e.before,
                after=e.after,
                reason=e.reason,
            )
            for e in entries(session, process=process, stage=stage, action=action, limit=limit)
        ]
