"""The dashboard: server-rendered pages for the secretariat. Reads use read-only sessions; changes run flows."""

from __future__ import annotations

import email
import email.message
import email.parser
import email.policy
import email.utils
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from config import clock
from config.settings import get_settings
from consultrack.web.gantt import build_gantt
from consultrack.web.operations import clean_text, parse_day, perform
from consultrack.web.rendering import render
from consultrack.web.security import (
    CSRF_FIELD,
    check_csrf,
    flash,
    require_account,
    require_admin,
    sign_in,
    sign_out,
)
from models.audit import AuditEntry, entries
from models.db import read_session, session_scope
from models.directory import MemberState, Person
from models.enums import GateKind, Owner, Role, StageState
from models.errors import ConsultrackError, InvalidInput, NotFound
from models.gates import evaluate_gate
from models.lifecycle import secretariat_people
from models.process import Process
from models.queries import deadline_at, get_process, get_stage, meetings_of, member_states, stages_of
from models.reminder import Reminder
from models.response import Response as StageResponse
from models.status import process_status
from notifications.reminders.preview import failed_by_stage, retrying

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 100
ROW_ID_MAX = 2**63 - 1
"""The largest id a database column holds: a bigger one in a URL is a 422, not an overflow (a 500)."""


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- signing in -----------------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - the conventional name
    return render(request, "login.html", {"next": _safe_next(next)})


def _safe_next(target: str) -> str:
    """Only paths on this site: never an open redirect to another host."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    target = _safe_next(str(form.get("next") or "/"))
    check_csrf(request, form.get(CSRF_FIELD))
    from models.accounts import attempt_sign_in

    try:
        username = clean_text(form.get("username"), "the username", required=True, limit=64) or ""
        password = form.get("password")
        if not isinstance(password, str) or not password or len(password) > 1024:
            raise InvalidInput("the password is required")
        # argon2 takes a quarter of a second: in a worker thread, so other requests go on meanwhile. The client is
        # the connecting address, or the one a trusted proxy names (CONSULTRACK_TRUSTED_PROXIES, web/app.py).
        client = request.client.host if request.client else ""
        account = await run_in_threadpool(attempt_sign_in, username, password, client=client)
    except ConsultrackError as exc:
        return render(request, "login.html", {"next": target, "error": exc.message,
                                              "username": form.get("username") or ""}, exc.http_status)
    sign_in(request, account)
    return _see_other(target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))
    sign_out(request)
    flash(request, "ok", "You have signed out.")
    return _see_other("/login")


# --- the timeline ---------------------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    require_account(request)
    with read_session() as session:
        processes = list(session.exec(select(Process).order_by(col(Process.id))).all())
    if len(processes) == 1:
        return _see_other(f"/p/{quote(processes[0].key)}")
    return render(request, "processes.html", {"processes": processes})


@router.get("/p/{process_key}", response_class=HTMLResponse)
def timeline(request: Request, process_key: str) -> Response:
    require_account(request)
    with read_session() as session:
        process = get_process(session, process_key)
        status = process_status(session, process, clock.now(), clock.today(process.timezone))
        meetings = meetings_of(session, process)
        gantt = build_gantt(status, meetings)
        failed, waiting = failed_by_stage(session, process), retrying(session, process)
    return render(request, "timeline.html", {"process": process, "status": status, "gantt": gantt,
                                             "meetings": meetings, "failed": failed, "waiting": waiting})


# --- a stage ----------------------------------------------------------------------------------------------------

def _stage_context(process_key: str, stage_key: str) -> dict[str, Any]:
    now = clock.now()
    with read_session() as session:
        process = get_process(session, process_key)
        stage = get_stage(session, process, stage_key)
        today = clock.today(process.timezone)
        gate = evaluate_gate(session, process, stage, now)
        states = member_states(session)
        responses = {r.member_state_code: r for r in session.exec(
            select(StageResponse).where(StageResponse.stage_id == stage.id)).all()}
        reminders = session.exec(select(Reminder, Person).where(Reminder.stage_id == stage.id,
                                                                Reminder.person_id == Person.id)
                                 .order_by(col(Reminder.send_at))).all()
        meetings = [m for m in meetings_of(session, process) if m.stage_id == stage.id]
        approvers = secretariat_people(session)
        stages = {s.key: s for s in stages_of(session, process)}
    by_status: dict[str, list[tuple[Reminder, Person]]] = {}
    for reminder, person in reminders:
        by_status.setdefault(reminder.status.value, []).append((reminder, person))
    return {"process": process, "stage": stage, "gate": gate, "today": today, "states": states,
            "responses": responses, "reminders": by_status, "meetings": meetings, "approvers": approvers,
            "deadline": deadline_at(stage, process), "days_left": (stage.due_date - today).days,
            "asks_states": Owner.MEMBER_STATES.value in stage.owners, "GateKind": GateKind,
            "StageState": StageState, "predecessors": [stages[k] for k in stage.depends_on if k in stages],
            "values": {}, "failed": None}


@router.get("/p/{process_key}/stages/{stage_key}", response_class=HTMLResponse)
def stage_page(request: Request, process_key: str, stage_key: str) -> Response:
    require_account(request)
    return render(request, "stage.html", _stage_context(process_key, stage_key))


def _form_text(form: FormData, name: str, what: str, *, required: bool = False,
               multiline: bool = False) -> str | None:
    return clean_text(form.get(name), what, required=required, multiline=multiline)


def _start_args(form: FormData) -> dict[str, Any]:
    return {"override_reason": _form_text(form, "override_reason", "the reason to override", multiline=True)}


def _advance_args(form: FormData) -> dict[str, Any]:
    return {"approver": _form_text(form, "approver", "the approver"),
            "note": _form_text(form, "note", "the approval note", multiline=True),
            "decision_text": _form_text(form, "decision_text", "the decision text", multiline=True),
            "decision_date": parse_day(form.get("decision_date"), "the decision date"),
            "proceed_reason": _form_text(form, "proceed_reason", "the reason to proceed", multiline=True),
            "override_reason": _form_text(form, "override_reason", "the reason to override", multiline=True)}


def _skip_args(form: FormData) -> dict[str, Any]:
    return {"reason": _form_text(form, "reason", "a reason to skip", required=True, multiline=True)}


def _reschedule_args(form: FormData) -> dict[str, Any]:
    return {"start": parse_day(form.get("start"), "the new start"), "end": parse_day(form.get("end"), "the new end"),
            "due": parse_day(form.get("due"), "the new deadline"), "confirm": form.get("confirm") == "yes",
            "reason": _form_text(form, "reason", "a reason to reschedule", required=True, multiline=True)}


def _response_args(form: FormData) -> dict[str, Any]:
    return {"member_state": _form_text(form, "member_state", "the member State", required=True),
            "received_on": parse_day(form.get("received_on"), "the date received", required=True),
            "channel": _form_text(form, "channel", "the channel", required=True),
            "note": _form_text(form, "note", "the note", multiline=True) or "",
            "link": _form_text(form, "link", "the link")}


ACTIONS = {
    "start": ("start_stage", _start_args),
    "advance": ("advance_stage", _advance_args),
    "skip": ("skip_stage", _skip_args),
    "reschedule": ("reschedule_stage", _reschedule_args),
    "respond": ("record_response", _response_args),
}


def _done(action: str, result: dict[str, Any]) -> str:
    if action == "advance":
        started = f"; started {', '.join(result['started'])}" if result["started"] else ""
        return f"{result['stage']} completed{' (gate overridden)' if result['overridden'] else ''}{started}."
    if action == "reschedule":
        return f"Rescheduled: {', '.join(result['moved'])}" + (
            f"; meetings moved: {', '.join(result['meetings'])}." if result["meetings"] else ".")
    if action == "respond":
        return f"Response from {result['member_state']} recorded (received {result['received_on']})."
    return f"{result['stage']} is now {result['state']}."


@router.post("/p/{process_key}/stages/{stage_key}/{action}", response_class=HTMLResponse)
async def stage_action(request: Request, process_key: str, stage_key: str, action: str) -> Response:
    form = await request.form()
    require_account(request)
    check_csrf(request, form.get(CSRF_FIELD))
    account = require_admin(request)
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r} on a stage")
    operation, parse = ACTIONS[action]
    try:
        result = await perform(request.app, operation, process_key=process_key, stage_key=stage_key,
                               actor=account.username, **parse(form))
    except ConsultrackError as exc:
        context = _stage_context(process_key, stage_key)
        context.update(values={k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)},
                       failed=action, error=exc.message)
        return render(request, "stage.html", context, exc.http_status)
    flash(request, "ok", _done(action, result))
    return _see_other(f"/p/{quote(process_key)}/stages/{quote(result.get('stage', stage_key))}")


@router.get("/p/{process_key}/stages/{stage_key}/reschedule", response_class=HTMLResponse)
def reschedule_preview_page(request: Request, process_key: str, stage_key: str, start: str = "", end: str = "",
                            due: str = "", confirm: str = "") -> Response:
    """Admins only, as in the API: the preview is a change rolled back (consultrack/web/preview.py)."""
    account = require_admin(request)
    from consultrack.web.preview import reschedule_preview

    values = {"start": start, "end": end, "due": due, "confirm": confirm}
    context = _stage_context(process_key, stage_key)
    try:
        preview = reschedule_preview(process_key, stage_key, start=parse_day(start, "the new start"),
                                     end=parse_day(end, "the new end"), due=parse_day(due, "the new deadline"),
                                     confirm=confirm == "yes", actor=account.username, now=clock.now())
    except ConsultrackError as exc:
        context.update(values=values, failed="reschedule", error=exc.message)
        return render(request, "stage.html", context, exc.http_status)
    context.update(values=values, preview=preview)
    return render(request, "reschedule.html", context)


# --- directory, audit, mailbox -------------------------------------------------------------------------------------

@router.get("/directory", response_class=HTMLResponse)
def directory(request: Request) -> Response:
    require_account(request)
    from models.token_rules import tokens_of
    from models.tokens import FeedToken

    with read_session() as session:
        states = {s.code: s for s in session.exec(select(MemberState)).all()}
        people = list(session.exec(select(Person).order_by(col(Person.member_state_code), col(Person.role),
                                                           col(Person.name))).all())
        live: dict[int, int] = {}
        for token, person in tokens_of(session, FeedToken):
            if token.revoked_at is None and person.id is not None:
                live[person.id] = live.get(person.id, 0) + 1
    return render(request, "directory.html", {"states": states, "people": people, "live_tokens": live,
                                              "Role": Role})


@router.post("/directory/{person_id}/subscribe-link", response_class=HTMLResponse)
async def issue_subscribe_link(request: Request,
                               person_id: Annotated[int, PathParam(ge=1, le=ROW_ID_MAX)]) -> Response:
    """A new personal link; it is shown once, here, because only its hash is kept."""
    form = await request.form()
    require_account(request)
    check_csrf(request, form.get(CSRF_FIELD))
    account = require_admin(request)
    from calendars.subscribe import subscribe_page_url
    from models.token_rules import issue_feed_token

    with session_scope() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(f"no person #{person_id}")
        issued = issue_feed_token(session, person.email, actor=account.username, now=clock.now(), label="dashboard")
        name, email_address = issued.holder.name, issued.holder.email
    link = subscribe_page_url(issued.secret)
    return render(request, "subscribe_link.html", {"name": name, "email": email_address, "link": link})


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, process: str = "", stage: str = "", action: str = "", actor: str = "",
          before: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None) -> Response:
    require_account(request)
    filters = {"process": process.strip(), "stage": stage.strip(), "action": action.strip(), "actor": actor.strip()}
    with read_session() as session:
        found = entries(session, process=filters["process"], stage=filters["stage"], action=filters["action"],
                        actor=filters["actor"], before=before, limit=AUDIT_PAGE + 1)
        actions = sorted(set(session.exec(select(AuditEntry.action).distinct()).all()))
    more = len(found) > AUDIT_PAGE
    found = found[:AUDIT_PAGE]
    older = ("/audit?" + urlencode({**{k: v for k, v in filters.items() if v}, "before": found[-1].id})
             if more and found else None)
    return render(request, "audit.html", {"entries": found, "filters": filters, "actions": actions,
                                          "older": older})


def _mailbox_files() -> list[Path]:
    box = get_settings().mailbox_dir
    return sorted(box.glob("*.eml")) if box.is_dir() else []


def _sent_at(headers: email.message.Message, path: Path) -> datetime:
    """The message's Date (the domain clock's time of sending), else when the file arrived."""
    try:
        return email.utils.parsedate_to_datetime(str(headers.get("Date")))
    except (TypeError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


@router.get("/mailbox", response_class=HTMLResponse)
def mailbox(request: Request) -> Response:
    """The local mail sink: what the reminders and digests sent, when mail stays on this machine."""
    require_admin(request)
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    messages = []
    for path in _mailbox_files():
        with path.open("rb") as handle:
            headers = parser.parse(handle)
        messages.append({"name": path.name, "to": headers.get("To", ""), "subject": headers.get("Subject", ""),
                         "date": headers.get("Date", ""), "at": _sent_at(headers, path)})
    messages.sort(key=lambda m: (m["at"], m["name"]), reverse=True)
    return render(request, "mailbox.html", {"messages": messages[:300], "total": len(messages),
                                            "box": get_settings().mailbox_dir})


@router.get("/mailbox/{name}", response_class=HTMLResponse)
def mailbox_message(request: Request, name: str) -> Response:
    require_admin(request)
    path = next((p for p in _mailbox_files() if p.name == name), None)
    if path is None:
        raise NotFound(f"no message {name!r} in the mailbox")
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    headers = [(h, str(message.get(h))) for h in ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")
               if message.get(h)]
    return render(request, "message.html", {"name": name, "headers": headers, "text": text})
