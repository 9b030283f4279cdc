"""A process's meetings: the list, and per meeting the forms that move, edit, cancel it or record it held.

No JavaScript. Bad input is shown beside its field (aria-invalid, aria-describedby) with the form as it was typed:
each form is checked here with the rules' own checks (models/meetings.py) before its flow runs, so the field is
known; what the flow still refuses is shown at the top of the meeting."""

from __future__ import annotations

from datetime import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from config import clock
from consultrack.web.inputs import clean_text, parse_day
from consultrack.web.operations import perform
from consultrack.web.rendering import render, see_other
from consultrack.web.security import CSRF_FIELD, AdminPost, SignedIn, flash
from flows.operations import (
    ADD_MEETING,
    CANCEL_MEETING,
    EDIT_MEETING,
    INVITE,
    MEETING_ATTENDANCE,
    MEETING_HELD,
    MOVE_MEETING,
    Operation,
)
from models.db import read_session
from models.enums import MEETING_KIND_WORDS, Attendance, MeetingKind, MeetingStatus, Owner
from models.errors import ConsultrackError, InvalidInput, NotFound
from models.meetings import (
    MeetingFields,
    MeetingInputError,
    When,
    attendance_of,
    check_attendance,
    check_fields,
    check_movable,
    check_when,
    find_meeting,
    meeting_when,
    place_in_stage,
)
from models.queries import get_process, meetings_of, member_states, stages_of

router = APIRouter()

ACTIONS: dict[str, Operation] = {
    "move": MOVE_MEETING,
    "edit": EDIT_MEETING,
    "cancel": CANCEL_MEETING,
    "held": MEETING_HELD,
    "invite": INVITE,
    "attendance": MEETING_ATTENDANCE,
}
"""The forms of the meetings page, by the last segment of their address."""
ROLE_WORDS = {
    Owner.MEMBER_STATES: "focal points and alternates of each member State",
    Owner.SECRETARIAT: "the secretariat",
    Owner.SOM: "SOM delegates",
    Owner.STAKEHOLDERS: "stakeholders",
}


def _context(process_key: str) -> dict[str, Any]:
    with read_session() as session:
        process = get_process(session, process_key)
        stages = {s.id: s for s in stages_of(session, process)}
        rows = meetings_of(session, process)
        attendance = {m.key: attendance_of(session, m) for m in rows}
        states = member_states(session)
    return {
        "process": process,
        "meetings": rows,
        "stages": stages,
        "attendance": attendance,
        "states": states,
        "when": meeting_when,
        "kinds": MEETING_KIND_WORDS,
        "roles": ROLE_WORDS,
        "Attendance": Attendance,
        "MeetingStatus": MeetingStatus,
        "today": clock.today(process.timezone),
        "values": {},
        "failed": None,
        "error": None,
        "error_field": None,
    }


@router.get("/p/{process_key}/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, process_key: str, _: SignedIn) -> Response:
    return render(request, "meetings.html", _context(process_key))


def _text(form: FormData, name: str, what: str, *, multiline: bool = False) -> str | None:
    try:
        return clean_text(form.get(name), what, multiline=multiline)
    except InvalidInput as exc:
        raise MeetingInputError(name, exc.message) from None


def _time(form: FormData, name: str, what: str) -> time | None:
    text = _text(form, name, what)
    if text is None:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise MeetingInputError(name, f"{what}: {text!r} is not a time; use HH:MM, e.g. 15:00") from None


def _day(form: FormData, name: str, what: str) -> Any:
    try:
        return parse_day(form.get(name), what)
    except InvalidInput as exc:
        raise MeetingInputError(name, exc.message) from None


def _form_when(form: FormData) -> When:
    """The days, times and zone a move or add form gives, checked as the rules check them."""
    all_day = form.get("all_day") == "yes"
    start = None if all_day else _time(form, "start", "start time")
    end = None if all_day else _time(form, "end", "end time")
    return check_when(
        _day(form, "date", "date"), _day(form, "end_date", "end date"), start, end, _text(form, "timezone", "zone")
    )


def _form_fields(form: FormData) -> MeetingFields:
    """A meeting's details as an edit or add form gives them (an empty link is ""), checked as the rules do."""
    fields = MeetingFields(
        title=_text(form, "title", "title") or "",
        kind=_text(form, "kind", "kind") or MeetingKind.CONSULTATION.value,
        location=_text(form, "location", "place", multiline=True) or "",
        virtual=form.get("virtual") == "yes",
        online_link=_text(form, "online_link", "online link") or "",
        dial_in=_text(form, "dial_in", "dial-in", multiline=True) or "",
        agenda_link=_text(form, "agenda_link", "agenda link") or "",
        documents_link=_text(form, "documents_link", "documents link") or "",
        attendees=[str(v) for v in form.getlist("attendees")],
    )
    check_fields(fields)
    return fields


def _move_args(form: FormData, process_key: str, meeting_key: str) -> dict[str, Any]:
    when = _form_when(form)
    with read_session() as session:
        process = get_process(session, process_key)
        meeting = find_meeting(session, process, meeting_key)
        check_movable(meeting)
        stages = stages_of(session, process)
        place_in_stage(stages, when, None, next(s for s in stages if s.id == meeting.stage_id))
    return {
        "date": when.day,
        "end_date": when.end_day,
        "start": when.start_time,
        "end": when.end_time,
        "timezone": when.timezone,
        "tentative": form.get("tentative") == "yes",
        "reason": _text(form, "reason", "reason", multiline=True),
    }


def _edit_args(form: FormData, process_key: str, meeting_key: str) -> dict[str, Any]:
    fields = _form_fields(form)
    with read_session() as session:
        meeting = find_meeting(session, get_process(session, process_key), meeting_key)
    given = {k: getattr(fields, k) for k in MeetingFields.__dataclass_fields__}
    current = {
        **{k: getattr(meeting, k) or "" for k in given if k not in ("attendees", "kind", "virtual")},
        "kind": meeting.kind.value,
        "virtual": meeting.virtual,
        "attendees": meeting.attendees,
    }
    changed = {k: v for k, v in given.items() if v != current[k]}
    if not changed:
        raise MeetingInputError("title", f"nothing changed in \u201c{meeting.title}\u201d: change a field first")
    return changed


def _cancel_args(form: FormData, process_key: str, meeting_key: str) -> dict[str, Any]:
    reason = _text(form, "reason", "reason", multiline=True)
    if reason is None:
        raise MeetingInputError("reason", "reason: a reason to cancel the meeting is required")
    return {"reason": reason}


def _attendance_chosen(form: FormData) -> dict[str, str]:
    """The per-State menus (attendance_JP, ...) that name a value."""
    return {
        k.removeprefix("attendance_"): str(v)
        for k, v in form.items()
        if k.startswith("attendance_") and isinstance(v, str) and v
    }


def _held_args(form: FormData, process_key: str, meeting_key: str) -> dict[str, Any]:
    attendance = _attendance_chosen(form)
    with read_session() as session:
        check_attendance(session, attendance)
    return {
        "held_on": _day(form, "held_on", "date held"),
        "attendance": attendance or None,
        "reason": _text(form, "note", "note", multiline=True),
    }


def _attendance_args(form: FormData, process_key: str, meeting_key: str) -> dict[str, Any]:
    return {"attendance": _attendance_chosen(form), "reason": _text(form, "reason", "reason", multiline=True)}


def _invite_args(form: FormData, process_key: str, meeting_key: str) -> dict[str, Any]:
    return {}


FORMS = {
    "move": _move_args,
    "edit": _edit_args,
    "cancel": _cancel_args,
    "held": _held_args,
    "invite": _invite_args,
    "attendance": _attendance_args,
}


def _add_args(form: FormData, process_key: str) -> dict[str, Any]:
    """A new meeting as the form gives it, checked by the rules' own checks before any flow runs."""
    key = _text(form, "key", "key")
    if key is None:
        raise MeetingInputError("key", "key: a short name for the meeting is required, e.g. nfp-2025-10")
    when = _form_when(form)
    fields = _form_fields(form)
    with read_session() as session:
        place_in_stage(stages_of(session, get_process(session, process_key)), when, None, None)
    return {
        "meeting_key": key,
        "date": when.day,
        "end_date": when.end_day,
        "start": when.start_time,
        "end": when.end_time,
        "timezone": when.timezone,
        "title": fields.title,
        "kind": fields.kind,
        "location": fields.location,
        "virtual": fields.virtual,
        "online_link": fields.online_link or None,  # the add form has no dial-in, agenda or documents link
        "attendees": fields.attendees,
        "tentative": form.get("tentative") == "yes",
    }


@router.post("/p/{process_key}/meetings", response_class=HTMLResponse)
async def add_meeting(request: Request, process_key: str, account: AdminPost) -> Response:
    form = await request.form()
    try:
        args = _add_args(form, process_key)
        result = await perform(request.app, ADD_MEETING, process_key=process_key, actor=account.username, **args)
    except ConsultrackError as exc:
        if isinstance(exc, NotFound) and "meeting" not in exc.message:
            raise
        context = _context(process_key)
        context.update(
            values={k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)},
            chosen=[str(v) for v in form.getlist("attendees")],
            failed=("new", "add"),
            error=exc.message,
            error_field=exc.field if isinstance(exc, MeetingInputError) else None,
        )
        return render(request, "meetings.html", context, exc.http_status)
    flash(request, "ok", f"\u201c{result['title']}\u201d added: {result['when']}.")
    return see_other(f"/p/{quote(process_key)}/meetings#m-{quote(result['meeting'])}")


@router.post("/p/{process_key}/meetings/{meeting_key}/{action}", response_class=HTMLResponse)
async def meeting_action(
    request: Request, process_key: str, meeting_key: str, action: str, account: AdminPost
) -> Response:
    form = await request.form()
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r} on a meeting")
    operation = ACTIONS[action]
    try:
        with read_session() as session:
            find_meeting(session, get_process(session, process_key), meeting_key)
        result = await perform(
            request.app,
            operation,
            process_key=process_key,
            meeting_key=meeting_key,
            actor=account.username,
            **FORMS[action](form, process_key, meeting_key),
        )
    except ConsultrackError as exc:
        if isinstance(exc, NotFound) and "meeting" not in exc.message:
            raise
        context = _context(process_key)
        field = exc.field if isinstance(exc, MeetingInputError) else None
        context.update(
            values={k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)},
            chosen=[str(v) for v in form.getlist("attendees")],
            failed=None if field == "meeting" else (meeting_key, action),
            error=exc.message,
            error_field=field,
        )
        return render(request, "meetings.html", context, exc.http_status)
    if action == "invite":
        invited = result["invited"]
        flash(
            request,
            "ok",
            f"\u201c{result['title']}\u201d: {invited} invitation{'' if invited == 1 else 's'} queued; the next sweep "
            "sends them, and the date is now agreed."
            if invited
            else f"\u201c{result['title']}\u201d: everyone is already invited; nothing sent.",
        )
        return see_other(f"/p/{quote(process_key)}/meetings#m-{quote(meeting_key)}")
    verbs = {
        "move": "moved to " + result["when"],
        "edit": "changed",
        "cancel": "cancelled",
        "held": "recorded held",
        "attendance": "attendance recorded",
    }
    flash(request, "ok", f"\u201c{result['title']}\u201d {verbs[action]}.")
    return see_other(f"/p/{quote(process_key)}/meetings#m-{quote(meeting_key)}")
