"""Calendar feeds over HTTP, and the page that helps a person subscribe to theirs.

Paths are stable (clients keep a subscription URL for years): /calendars/processes/<key>.ics and
/calendars/member-states/<CODE>.ics are public; /calendars/<token>.ics and /subscribe/<token> are personal,
the token being the only credential. Every miss is the same plain 404, whatever the reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import col, select

from calendars.feeds import Feed, calendar_name, member_state_feed, personal_feed_for_token, process_feed
from calendars.subscribe import subscribe_links
from models.audience import active_secretariat
from models.db import read_session
from models.directory import MemberState
from models.errors import NotFound
from models.process import Process
from models.token_rules import person_for_token

MAX_QUERY = 1024
"""Clients add nothing to a feed URL; a longer query string is an attack or a mistake."""
FEED_MAX_AGE = 300
CONTENT_TYPE = "text/calendar; charset=utf-8"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


class PlainRefusal(Exception):
    """A feed request refused with a bare text reply (app.py turns it into its response)."""

    def __init__(self, status: int, text: str) -> None:
        self.response = Response(
            f"{text}\n", status_code=status, media_type="text/plain", headers={"Cache-Control": "no-store"}
        )


def _bounded_query(request: Request) -> None:
    """Called first by each handler (a router dependency would cost a tenth of a request's time)."""
    if len(request.scope["query_string"]) > MAX_QUERY:
        raise PlainRefusal(400, "query string too long")


router = APIRouter(include_in_schema=False)
# The handlers are async on purpose: a request is one small query (the cache key) and bytes from memory, and a
# thread-pool hop would cost more than that (half the 304 rate, bench/feeds.py). Only the first request after a
# change renders a feed (tens of milliseconds) on the event loop.
FEED_METHODS = ["GET", "HEAD"]  # subscription checkers and proxies probe with HEAD


def _missing() -> PlainRefusal:
    """The same plain 404 for every miss: no page, no session cookie, nothing that tells one miss from another."""
    return PlainRefusal(404, "not found")


@lru_cache(maxsize=1024)
def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _not_modified(request: Request, feed: Feed) -> bool:
    """RFC 9110 13.1: If-None-Match (weak comparison) decides when present; If-Modified-Since otherwise."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        offered = [t.strip() for t in tags.split(",")]
        return "*" in offered or any(t.removeprefix("W/") == feed.etag for t in offered)
    since = request.headers.get("if-modified-since")
    if not since:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    return moment.tzinfo is not None and feed.last_modified <= moment


def _serve(request: Request, feed: Feed, *, private: bool) -> Response:
    headers = {
        "ETag": feed.etag,
        "Last-Modified": _http_date(feed.last_modified),
        "Cache-Control": f"{'private' if private else 'public'}, max-age={FEED_MAX_AGE}",
    }
    if private:
        headers |= {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}
    if _not_modified(request, feed):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{_SAFE_NAME.sub("_", feed.filename)}"'
    return Response(feed.body, media_type=CONTENT_TYPE, headers=headers)


@router.api_route("/calendars/processes/{key}.ics", methods=FEED_METHODS)
async def process_calendar(key: str, request: Request) -> Response:
    _bounded_query(request)
    try:
        with read_session() as session:
            feed = process_feed(session, key)
    except NotFound:
        raise _missing() from None
    return _serve(request, feed, private=False)


@router.api_route("/calendars/member-states/{code}.ics", methods=FEED_METHODS)
async def member_state_calendar(code: str, request: Request) -> Response:
    _bounded_query(request)
    try:
        with read_session() as session:
            feed = member_state_feed(session, code)
    except NotFound:
        raise _missing() from None
    return _serve(request, feed, private=False)


@router.api_route("/calendars/{token}.ics", methods=FEED_METHODS)
async def personal_calendar(token: str, request: Request) -> Response:
    _bounded_query(request)
    with read_session() as session:
        feed = personal_feed_for_token(session, token)
    if feed is None:
        raise _missing()
    return _serve(request, feed, private=True)


@router.api_route("/calendars/{anything:path}", methods=FEED_METHODS)
async def calendar_miss(anything: str, request: Request) -> Response:
    """Any other path under /calendars/ (a traversal, a wrong suffix): the same plain 404 as an unknown token."""
    _bounded_query(request)
    raise _missing()


@router.get("/subscribe/{token}", response_class=HTMLResponse)
def subscribe_page(token: str, request: Request) -> HTMLResponse:
    _bounded_query(request)
    with read_session() as session:
        person = person_for_token(session, token)
        if person is None:
            raise _missing()
        state = session.get(MemberState, person.member_state_code) if person.member_state_code else None
        calendar = calendar_name(session, state, person.name)
        process = session.exec(select(Process).order_by(col(Process.id).desc())).first()
        contacts = [{"name": p.name, "email": p.email} for p in active_secretariat(session)]
        name = person.name
    body = _templates.get_template("feeds/subscribe.html").render(
        person_name=name,
        calendar_name=calendar,
        process=process,
        contacts=contacts,
        state_name=state.in_text if state else None,
        links=subscribe_links(token, calendar),
    )
    return HTMLResponse(
        body,
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex, nofollow",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        },
    )
