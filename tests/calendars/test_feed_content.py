"""What the feeds contain and how they are written: checked against the database rows and against golden files."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import icalendar
import pytest
from sqlmodel import select

from models.db import read_session
from models.directory import Person
from models.process import Meeting, Stage
from tests.calendars.helpers import DATA, FOCAL_POINTS, all_feeds, personal_body, process_body, state_body
from tests.calendars.parsers import PARSERS

GOLDEN = DATA / "golden"
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _events(body: bytes) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


@pytest.mark.parametrize(
    "name,make",
    [
        ("process-neaspec-sp-2026-2030.ics", lambda: process_body("neaspec-sp-2026-2030")),
        ("member-state-RU.ics", lambda: state_body("RU")),
        ("person-anna.volkova.ics", lambda: personal_body("anna.volkova@example.org")),
    ],
)
def test_feeds_match_the_golden_files(neaspec: str, name: str, make: object) -> None:
    """Byte for byte, on SQLite and PostgreSQL alike: every replica serves the same feed for the same rows.
    After an intended change, regenerate with UPDATE_GOLDEN=1 and review the diff."""
    body = make()  # type: ignore[operator]
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(body)
    assert body == golden.read_bytes()


def test_serialisation_crlf_folding_and_calendar_properties(neaspec: str) -> None:
    for name, body in all_feeds(neaspec).items():
        assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b""), name
        lines = body.split(b"\r\n")[:-1]
        assert all(len(line) <= 75 for line in lines), name
        header = body.split(b"BEGIN:VTIMEZONE")[0].split(b"BEGIN:VEVENT")[0].decode()
        unfolded = header.replace("\r\n ", "")
        for wanted in (
            "VERSION:2.0",
            "PRODID:",
            "CALSCALE:GREGORIAN",
            "X-WR-CALNAME:",
            "X-WR-CALDESC:",
            "REFRESH-INTERVAL;VALUE=DURATION:PT4H",
            "X-PUBLISHED-TTL:PT4H",
        ):
            assert f"\r\n{wanted}" in unfolded, f"{name}: {wanted}"
        assert "METHOD:" not in unfolded  # without METHOD, DTSTAMP may (must) equal LAST-MODIFIED


def test_events_follow_their_rows(neaspec: str) -> None:
    events = _events(process_body(neaspec))
    with read_session() as session:
        stages = list(session.exec(select(Stage)).all())
        meetings = list(session.exec(select(Meeting)).all())
    assert len(events) == 2 * len(stages) + len(meetings)
    for stage in stages:
        span = events[f"{neaspec}.stage.{stage.key}@consultrack"]
        due = events[f"{neaspec}.deadline.{stage.key}@consultrack"]
        assert span.decoded("dtstart") == stage.start_date
        assert span.decoded("dtend") == stage.end_date + timedelta(days=1)  # exclusive
        assert due.decoded("dtstart") == stage.due_date and due.decoded("dtend") == stage.due_date + timedelta(1)
        for event in (span, due):
            assert event["sequence"] == stage.version - 1
            assert event.decoded("dtstamp") == event.decoded("last-modified") == stage.modified_at
            assert str(event["status"]) == ("TENTATIVE" if stage.tentative else "CONFIRMED")
            assert str(event["transp"]) == "TRANSPARENT"
    tentative = events[f"{neaspec}.stage.som28-adoption@consultrack"]
    assert str(tentative["status"]) == "TENTATIVE" and "(to be confirmed)" in str(tentative["summary"])
    assert "SOM-28 date to be confirmed" in str(tentative["description"])
    nfp = events[f"{neaspec}.meeting.nfp-2025-04@consultrack"]
    assert str(nfp["transp"]) == "OPAQUE" and str(nfp["location"]) == "Virtual meeting"
    assert nfp["dtstart"].params["TZID"] == "Asia/Seoul"
    egm = events[f"{neaspec}.meeting.som27-egm@consultrack"]  # no times in the template: an all-day meeting
    assert egm.decoded("dtend") - egm.decoded("dtstart") == timedelta(days=1)


def test_rendering_is_deterministic(neaspec: str) -> None:
    from calendars import feeds

    first = all_feeds(neaspec)
    feeds.clear_cache()
    assert all_feeds(neaspec) == first


def test_public_feeds_carry_no_personal_data(neaspec: str) -> None:
    with read_session() as session:
        people = list(session.exec(select(Person)).all())
    bodies = {"process": process_body(neaspec)} | {c: state_body(c) for c in FOCAL_POINTS}
    for name, body in bodies.items():
        assert EMAIL.findall(body) == [], name
        for person in people:
            assert person.name.encode() not in body, f"{name} names {person.name}"


def test_personal_feeds_name_nobody_else(neaspec: str) -> None:
    with read_session() as session:
        people = list(session.exec(select(Person)).all())
    for person in people:
        body = personal_body(person.email)
        assert EMAIL.findall(body) == [], f"{person.email}: an e-mail address in the feed"
        others = [p.name for p in people if p.id != person.id and p.name.encode() in body]
        assert others == [], f"{person.email}'s feed names {others}"
        assert b"ATTENDEE" not in body and b"ORGANIZER" not in body


@pytest.mark.parametrize(
    "email,stages,meetings",
    [
        (
            "anna.volkova@example.org",
            {"outline-feedback", "consultations", "draft-review", "final-nfp-meeting"},
            {"som27-egm", "nfp-2025-04"},
        ),
        (
            "pavel.orlov@example.org",  # an alternate stands in for the focal point
            {"outline-feedback", "consultations", "draft-review", "final-nfp-meeting"},
            {"som27-egm", "nfp-2025-04"},
        ),
        (
            "minji.secretariat@example.org",
            {
                "som27-kickoff",
                "annotated-outline",
                "outline-feedback",
                "consultations",
                "drafting",
                "revision",
                "final-nfp-meeting",
                "som28-adoption",
            },
            {"som27-egm", "nfp-2025-04", "som-28"},
        ),
        ("sam.partner@example.org", {"draft-review"}, {"som27-egm"}),
        ("yamada.delegate@example.org", {"som27-kickoff", "som28-adoption"}, {"som27-egm", "som-28"}),
    ],
)
def test_a_personal_feed_holds_what_concerns_the_person(
    neaspec: str, email: str, stages: set[str], meetings: set[str]
) -> None:
    events = _events(personal_body(email))
    kinds: dict[str, set[str]] = {"stage": set(), "deadline": set(), "meeting": set()}
    for uid in events:
        _, kind, key = uid.removesuffix("@consultrack").split(".", 2)
        kinds[kind].add(key)
    assert kinds == {"stage": stages, "deadline": stages, "meeting": meetings}
    for uid, event in events.items():
        alarms = event.walk("VALARM")
        if ".deadline." in uid:
            assert len(alarms) == 1 and alarms[0].decoded("trigger") == -timedelta(days=2, hours=15)
            assert str(alarms[0]["action"]) == "DISPLAY" and str(alarms[0]["description"])
        else:
            assert alarms == []


def test_a_deadline_says_when_it_falls_on_the_readers_clock(neaspec: str) -> None:
    events = _events(personal_body("anna.volkova@example.org"))
    text = str(events[f"{neaspec}.deadline.consultations@consultrack"]["description"])
    assert "Due by the end of 30 April 2025, Asia/Seoul time." in text
    assert "That is 18:00 on 30 April 2025 in Europe/Moscow." in text
    seoul = str(
        _events(personal_body("park.jiwoo@example.org"))[f"{neaspec}.deadline.consultations@consultrack"]["description"]
    )
    assert "That is" not in seoul


def test_member_state_feeds_show_what_member_states_owe(neaspec: str) -> None:
    events = _events(state_body("JP"))
    keys = {uid.removesuffix("@consultrack").split(".", 1)[1] for uid in events}
    assert keys == {
        f"{kind}.{key}"
        for key in ("outline-feedback", "consultations", "draft-review", "final-nfp-meeting")
        for kind in ("stage", "deadline")
    } | {"meeting.som27-egm", "meeting.nfp-2025-04"}
    assert all(not e.walk("VALARM") for e in events.values())
    cal = icalendar.Calendar.from_ical(state_body("JP"))
    assert str(cal["x-wr-calname"]) == "NEASPEC SP 2026-2030: Japan"


@pytest.mark.parametrize("parser", list(PARSERS))
def test_every_parser_reads_every_feed(neaspec: str, parser: str) -> None:
    for name, body in all_feeds(neaspec).items():
        shown = PARSERS[parser](body, ["UTC"])
        assert shown, name
        assert all(e.status in ("CONFIRMED", "TENTATIVE") for e in shown.values()), name
