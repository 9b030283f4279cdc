"""A meeting's online link and dial-in are secret: a personal feed shows them in the meeting's description, the
public and member-State feeds (and the static export, which is made of them) never do. Read with real parsers."""

from __future__ import annotations

import pytest

from calendars import feeds
from config import clock
from models.db import read_session, session_scope
from models.meetings import MeetingFields, edit_meeting
from tests.calendars.helpers import personal_body, process_body, state_body
from tests.calendars.parsers import PARSERS
from tests.conftest import ACTOR, seoul

LINK = "https://meet.example.org/j/8261-neaspec?pwd=s3cret"
DIAL_IN = "+82 2 555 0100, PIN 4411#"
AGENDA = "https://www.neaspec.org/nfp-2025-04/agenda.pdf"


@pytest.mark.parametrize("parser", ["icalendar", "vobject"])
def test_joining_details_only_in_personal_feeds(neaspec: str, parser: str) -> None:
    with clock.frozen(seoul("2025-03-20 09:00")), session_scope() as session:
        fields = MeetingFields(online_link=LINK, dial_in=DIAL_IN, agenda_link=AGENDA)
        edit_meeting(session, neaspec, "nfp-2025-04", fields=fields, actor=ACTOR, now=clock.now())
    uid = f"{neaspec}.meeting.nfp-2025-04@consultrack"
    read = PARSERS[parser]
    with clock.frozen(seoul("2025-03-20 10:00")):
        mine = read(personal_body("anna.volkova@example.org"), ["Europe/Moscow"])[uid]
        public = {"process": process_body(neaspec), "RU": state_body("RU"), "JP": state_body("JP")}
        with read_session() as session:
            exported = b"".join(feed.body for _, feed in feeds.public_feeds(session))
    assert mine.description is not None
    assert f"Join online: {LINK}" in mine.description and f"Dial-in: {DIAL_IN}" in mine.description
    assert f"Agenda: {AGENDA}" in mine.description
    for name, body in public.items():
        shown = read(body, ["Europe/Moscow"])[uid]
        assert shown.description is not None and f"Agenda: {AGENDA}" in shown.description, name
        assert "meet.example.org" not in shown.description and "4411" not in shown.description, name
        assert b"meet.example.org" not in body and b"4411" not in body, name
    assert b"meet.example.org" not in exported and b"4411" not in exported
