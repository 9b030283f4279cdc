"""Feeds of the sample database as bytes, straight from calendars/ (the web tests go through HTTP)."""

from __future__ import annotations

from pathlib import Path

from calendars import feeds
from models.db import read_session
from models.queries import get_person

DATA = Path(__file__).resolve().parent / "data"
NFP_UID = "neaspec-sp-2026-2030.meeting.nfp-2025-04@consultrack"
FOCAL_POINTS = {
    "CN": "li.wei@example.org",
    "KP": "ri.song@example.org",
    "JP": "sato.yuki@example.org",
    "MN": "tsetseg.b@example.org",
    "KR": "park.jiwoo@example.org",
    "RU": "anna.volkova@example.org",
}


def process_body(key: str) -> bytes:
    with read_session() as session:
        return feeds.process_feed(session, key).body


def state_body(code: str) -> bytes:
    with read_session() as session:
        return feeds.member_state_feed(session, code).body


def personal_body(email: str) -> bytes:
    with read_session() as session:
        return feeds.personal_feed(session, get_person(session, email)).body


def all_feeds(key: str) -> dict[str, bytes]:
    """Every feed of the sample directory: the process, six member States, every person."""
    from sqlmodel import select

    from models.directory import Person

    found = {"process": process_body(key)}
    found |= {f"state {code}": state_body(code) for code in FOCAL_POINTS}
    with read_session() as session:
        emails = list(session.exec(select(Person.email)).all())
    found |= {f"person {email}": personal_body(email) for email in emails}
    return found
