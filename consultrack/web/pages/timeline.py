"""The list of processes and a process's timeline (the Gantt chart, its meetings, and the mail that failed)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlmodel import col, select
from starlette.responses import HTMLResponse, Response

from config import clock
from consultrack.web.gantt import build_gantt
from consultrack.web.rendering import render, see_other
from consultrack.web.security import SignedIn
from models.db import read_session
from models.process import Process
from models.queries import get_process, meetings_of
from models.status import process_status
from notifications.reminders.preview import failed_by_stage, retrying

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, _: SignedIn) -> Response:
    with read_session() as session:
        processes = list(session.exec(select(Process).order_by(col(Process.id))).all())
    if len(processes) == 1:
        return see_other(f"/p/{quote(processes[0].key)}")
    return render(request, "processes.html", {"processes": processes})


@router.get("/p/{process_key}", response_class=HTMLResponse)
def timeline(request: Request, process_key: str, _: SignedIn) -> Response:
    with read_session() as session:
        process = get_process(session, process_key)
        status = process_status(session, process, clock.now(), clock.today(process.timezone))
        meetings = meetings_of(session, process)
        gantt = build_gantt(status, meetings)
        failed, waiting = failed_by_stage(session, process), retrying(session, process)
    return render(
        request,
        "timeline.html",
        {
            "process": process,
            "status": status,
            "gantt": gantt,
            "meetings": meetings,
            "failed": failed,
            "waiting": waiting,
        },
    )
