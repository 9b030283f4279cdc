"""The dashboard: server-rendered pages for the secretariat, one module per group of pages. Reads use read-only
sessions; changes run flows (consultrack/web/operations.py)."""

from __future__ import annotations

from fastapi import APIRouter

from consultrack.web.pages import audit, directory, login, mailbox, meetings, stage, timeline

router = APIRouter(include_in_schema=False)
for _group in (login, timeline, stage, meetings, directory, audit, mailbox):
    router.include_router(_group.router)
