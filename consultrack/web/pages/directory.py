"""The directory of member States and people, and the personal calendar links issued from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from sqlmodel import col, select
from starlette.responses import HTMLResponse, Response

from config import clock
from consultrack.web.inputs import ROW_ID_MAX
from consultrack.web.rendering import render
from consultrack.web.security import AdminPost, SignedIn
from models.db import read_session, session_scope
from models.directory import MemberState, Person
from models.enums import Role
from models.errors import NotFound

router = APIRouter()


@router.get("/directory", response_class=HTMLResponse)
def directory(request: Request, _: SignedIn) -> Response:
    from models.token_rules import tokens_of
    from models.tokens import FeedToken

    with read_session() as session:
        states = {s.code: s for s in session.exec(select(MemberState)).all()}
        people = list(
            session.exec(
                select(Person).order_by(col(Person.member_state_code), col(Person.role), col(Person.name))
            ).all()
        )
        live: dict[int, int] = {}
        for token, person in tokens_of(session, FeedToken):
            if token.revoked_at is None and person.id is not None:
                live[person.id] = live.get(person.id, 0) + 1
    return render(request, "directory.html", {"states": states, "people": people, "live_tokens": live, "Role": Role})


@router.post("/directory/{person_id}/subscribe-link", response_class=HTMLResponse)
async def issue_subscribe_link(
    request: Request, person_id: Annotated[int, PathParam(ge=1, le=ROW_ID_MAX)], account: AdminPost
) -> Response:
    """A new personal link; it is shown once, here, because only its hash is kept."""
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
