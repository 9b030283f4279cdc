"""The API's meeting routes: list, add, edit, move, cancel, record held or attendance (declared in
flows/operations.py).

Bad input (an unknown meeting, an end before the start, an unknown zone, a date outside every stage, an online link
that is not https, moving a cancelled meeting) is a 422 whose message names the field; nothing is written. The
list never carries a meeting's online link or dial-in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from consultrack.web.api import ERRORS, Admin, PathKey, Reader
from consultrack.web.inputs import clean_text
from consultrack.web.operations import perform
from consultrack.web.schemas import (
    MeetingAddIn,
    MeetingAttendanceIn,
    MeetingCancelIn,
    MeetingDetailsIn,
    MeetingHeldIn,
    MeetingMoveIn,
    MeetingOut,
)
from flows.operations import (
    ADD_MEETING,
    CANCEL_MEETING,
    EDIT_MEETING,
    MEETING_ATTENDANCE,
    MEETING_HELD,
    MOVE_MEETING,
)
from models.db import read_session
from models.enums import MEETING_KIND_WORDS
from models.meetings import MeetingFields, check_fields, check_when, find_meeting, meeting_when, moved_when
from models.queries import get_process, meetings_of, stages_of

router = APIRouter(prefix="/api", tags=["api"], responses={401: {"description": "no valid token"}})


def _details(body: MeetingDetailsIn) -> dict[str, Any]:
    """The details as given (None: unchanged), checked here as the rule will check them (models/meetings.py), so
    that bad input costs no flow run."""
    details = {k: getattr(body, k) for k in MeetingDetailsIn.model_fields}
    check_fields(MeetingFields(**details))
    return details


@router.get("/processes/{process_key}/meetings", responses=ERRORS)
def meetings(process_key: PathKey, _: Reader) -> list[MeetingOut]:
    with read_session() as session:
        process = get_process(session, process_key)
        stages = {s.id: s.key for s in stages_of(session, process)}
        return [
            MeetingOut(
                meeting=m.key,
                title=m.title,
                status=m.status.value,
                when=meeting_when(m),
                version=m.version,
                kind=MEETING_KIND_WORDS[m.kind],
                stage=stages.get(m.stage_id),
                tentative=m.tentative,
                has_joining_details=bool(m.online_link or m.dial_in),
            )
            for m in meetings_of(session, process)
        ]


@router.post(ADD_MEETING.api_path, responses=ERRORS)
async def add_meeting(
    process_key: PathKey, meeting_key: PathKey, body: MeetingAddIn, account: Admin, request: Request
) -> MeetingOut:
    all_day = body.all_day
    check_when(body.date, body.end_date, None if all_day else body.start, None if all_day else body.end, body.timezone)
    result = await perform(
        request.app,
        ADD_MEETING,
        process_key=process_key,
        meeting_key=meeting_key,
        actor=account.username,
        date=body.date,
        end_date=body.end_date,
        start=None if body.all_day else body.start,
        end=None if body.all_day else body.end,
        timezone=body.timezone,
        stage=body.stage,
        tentative=body.tentative,
        **_details(body),
    )
    return MeetingOut.model_validate(result)


@router.post(EDIT_MEETING.api_path, responses=ERRORS)
async def edit_meeting(
    process_key: PathKey, meeting_key: PathKey, body: MeetingDetailsIn, account: Admin, request: Request
) -> MeetingOut:
    result = await perform(
        request.app,
        EDIT_MEETING,
        process_key=process_key,
        meeting_key=meeting_key,
        actor=account.username,
        **_details(body),
    )
    return MeetingOut.model_validate(result)


@router.post(MOVE_MEETING.api_path, responses=ERRORS)
async def move_meeting(
    process_key: PathKey, meeting_key: PathKey, body: MeetingMoveIn, account: Admin, request: Request
) -> MeetingOut:
    with read_session() as session:
        meeting = find_meeting(session, get_process(session, process_key), meeting_key)
        when = moved_when(
            meeting,
            day=body.date,
            end_day=body.end_date,
            start=body.start,
            end=body.end,
            timezone=body.timezone,
            all_day=body.all_day,
        )
    result = await perform(
        request.app,
        MOVE_MEETING,
        process_key=process_key,
        meeting_key=meeting_key,
        actor=account.username,
        date=when.day,
        end_date=when.end_day,
        start=when.start_time,
        end=when.end_time,
        timezone=when.timezone,
        stage=body.stage,
        tentative=body.tentative,
        reason=clean_text(body.reason, "reason", multiline=True),
    )
    return MeetingOut.model_validate(result)


@router.post(CANCEL_MEETING.api_path, responses=ERRORS)
async def cancel_meeting(
    process_key: PathKey, meeting_key: PathKey, body: MeetingCancelIn, account: Admin, request: Request
) -> MeetingOut:
    result = await perform(
        request.app,
        CANCEL_MEETING,
        process_key=process_key,
        meeting_key=meeting_key,
        actor=account.username,
        reason=clean_text(body.reason, "reason", required=True, multiline=True),
    )
    return MeetingOut.model_validate(result)


@router.post(MEETING_HELD.api_path, responses=ERRORS)
async def meeting_held(
    process_key: PathKey, meeting_key: PathKey, body: MeetingHeldIn, account: Admin, request: Request
) -> MeetingOut:
    result = await perform(
        request.app,
        MEETING_HELD,
        process_key=process_key,
        meeting_key=meeting_key,
        actor=account.username,
        held_on=body.held_on,
        attendance=body.attendance,
        reason=clean_text(body.reason, "reason", multiline=True),
    )
    return MeetingOut.model_validate(result)


@router.post(MEETING_ATTENDANCE.api_path, responses=ERRORS)
async def meeting_attendance(
    process_key: PathKey, meeting_key: PathKey, body: MeetingAttendanceIn, account: Admin, request: Request
) -> MeetingOut:
    result = await perform(
        request.app,
        MEETING_ATTENDANCE,
        process_key=process_key,
        meeting_key=meeting_key,
        actor=account.username,
        attendance=dict(body.attendance),
        reason=clean_text(body.reason, "reason", multiline=True),
    )
    return MeetingOut.model_validate(result)
