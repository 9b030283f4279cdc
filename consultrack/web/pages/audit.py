"""The audit trail, filtered and paged from the newest entry back."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlmodel import select
from starlette.responses import HTMLResponse, Response

from consultrack.web.inputs import ROW_ID_MAX
from consultrack.web.rendering import render
from consultrack.web.security import SignedIn
from models.audit import AuditEntry, entries
from models.db import read_session

router = APIRouter()
AUDIT_PAGE = 100


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    _: SignedIn,
    process: str = "",
    stage: str = "",
    action: str = "",
    actor: str = "",
    before: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
) -> Response:
    filters = {"process": process.strip(), "stage": stage.strip(), "action": action.strip(), "actor": actor.strip()}
    with read_session() as session:
        found = entries(
            session,
            process=filters["process"],
            stage=filters["stage"],
            action=filters["action"],
            actor=filters["actor"],
            before=before,
            limit=AUDIT_PAGE + 1,
        )
        actions = sorted(set(session.exec(select(AuditEntry.action).distinct()).all()))
    more = len(found) > AUDIT_PAGE
    found = found[:AUDIT_PAGE]
    older = (
        "/audit?" + urlencode({**{k: v for k, v in filters.items() if v}, "before": found[-1].id})
        if more and found
        else None
    )
    return render(request, "audit.html", {"entries": found, "filters": filters, "actions": actions, "older": older})
