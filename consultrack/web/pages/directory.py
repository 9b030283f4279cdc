"""The directory of member States and people, and the personal calendar links issued from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from sqlmodel import select
from starlette.responses import HTMLResponse, Response

from calendars.subscribe import subscribe_page_url
from config import clock
from consultrack.subscribe_mail import NotSent, send_subscribe_mail
from consultrack.web.inputs import ROW_ID_MAX
from consultrack.web.rendering import render, see_other
from consultrack.web.security import AdminPost, SignedIn, flash
from models.db import read_session, session_scope
from models.directory import MemberState, Person
from models.enums import ROLE_WORDS, Role
from models.errors import NotFound
from models.token_rules import issue_feed_token, revoke_feed_token, tokens_of
from models.tokens import FeedToken

router = APIRouter()

ROLE_ORDER = [Role.FOCAL_POINT, Role.ALTERNATE_FOCAL_POINT, Role.SECRETARIAT, Role.SOM_DELEGATE, Role.STAKEHOLDER]
"""The order people read a State's contacts in: the focal point first, then the alternate."""


@router.get("/directory", response_class=HTMLResponse)
def directory(request: Request, _: SignedIn) -> Response:

    with read_session() as session:
        states = {s.code: s for s in session.exec(select(MemberState)).all()}
        people = sorted(
            session.exec(select(Person)).all(),
            key=lambda p: (p.member_state_code is None, p.member_state_code or "", ROLE_ORDER.index(p.role), p.name),
        )
        live: dict[int, int] = {}
        for token, person in tokens_of(session, FeedToken):
            if token.revoked_at is None and person.id is not None:
                live[person.id] = live.get(person.id, 0) + 1
    context = {
        "states": states,
        "people": people,
        "live_tokens": live,
        "role_words": {role: words[0] for role, words in ROLE_WORDS.items()},
    }
    return render(request, "directory.html", context)


@router.post("/directory/{person_id}/subscribe-link", response_class=HTMLResponse)
async def issue_subscribe_link(
    request: Request, person_id: Annotated[int, PathParam(ge=1, le=ROW_ID_MAX)], account: AdminPost
) -> Response:
    """A new personal link; it is shown once, here, because only its hash is kept. With `send` in the form, it is
    also e-mailed to the person (their subscribe page), as `feed token new --send` does."""
    form = await request.form()
    with session_scope() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(f"no person #{person_id}")
        issued = issue_feed_token(session, person.email, actor=account.username, now=clock.now(), label="dashboard")
        name, email_address, token_id = issued.holder.name, issued.holder.email, issued.row.id
    sent, not_sent = None, None
    if form.get("send") == "yes":
        try:
            sent = await send_subscribe_mail(person_id, issued.secret, token_id)
        except NotSent as exc:
            not_sent = f"{exc}. The link below works: give it to them yourself, or revoke it."
    link = subscribe_page_url(issued.secret)
    context = {"name": name, "email": email_address, "link": link, "sent": sent, "not_sent": not_sent}
    return render(request, "subscribe_link.html", context)


@router.post("/directory/{person_id}/revoke-links", response_class=HTMLResponse)
async def revoke_links(
    request: Request, person_id: Annotated[int, PathParam(ge=1, le=ROW_ID_MAX)], account: AdminPost
) -> Response:
    """Every live link of the person stops working (their feed and subscribe page answer 404), audited each."""
    with session_scope() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(f"no person #{person_id}")
        live = [t for t, _ in tokens_of(session, FeedToken, person_id) if t.revoked_at is None]
        for token in live:
            revoke_feed_token(session, str(token.id), actor=account.username, now=clock.now())
        name = person.name
    if live:
        flash(request, "ok", f"{len(live)} calendar link{'s' if len(live) > 1 else ''} of {name} revoked.")
    else:
        flash(request, "ok", f"{name} had no live calendar link.")
    return see_other(f"/directory#person-{person_id}")
