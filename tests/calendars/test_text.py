"""Text that stresses escaping and folding survives every parser unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from config import clock
from models.db import session_scope
from models.lifecycle import touch
from models.process import Meeting, Stage
from tests.calendars.helpers import personal_body, process_body, state_body
from tests.calendars.parsers import PARSERS
from tests.conftest import seoul

TITLE = (
    'Консультации, этап 1; "проект" — 战略计划磋商，第一阶段；한국어 협의, 2차 \\ back\\slash, '
    "semi;colon, comma,, and a long tail to force folding across multi-byte characters: 东北亚环境合作"
)
LOCATION = 'Incheon; Songdo, 인천 송도 — 12th floor, room "A"\n(virtual link sent by e-mail)'
ACTIVITY = "Line one; with, punctuation\nЛиния два\n第三行\n넷째 줄\\n is not a newline"


@pytest.fixture
def tricky(neaspec: str) -> str:
    with clock.frozen(seoul("2025-03-01 09:00")), session_scope() as session:
        stage = session.exec(select(Stage).where(Stage.key == "consultations")).one()
        stage.name, stage.activity = TITLE, ACTIVITY + "\x07"  # a control character no client can show
        meeting = session.exec(select(Meeting).where(Meeting.key == "nfp-2025-04")).one()
        meeting.title, meeting.location = TITLE, LOCATION
        touch(stage, clock.now())
        touch(meeting, clock.now())
    return neaspec


@pytest.mark.parametrize("parser", list(PARSERS))
def test_text_round_trips(tricky: str, parser: str) -> None:
    bodies = {
        "process": process_body(tricky),
        "state": state_body("KR"),
        "person": personal_body("park.jiwoo@example.org"),
    }
    for name, body in bodies.items():
        assert all(len(line) <= 75 for line in body.split(b"\r\n")), name
        body.decode("utf-8")  # folding never splits a character
        shown = PARSERS[parser](body, ["Asia/Seoul"])
        span = shown[f"{tricky}.stage.consultations@consultrack"]
        meeting = shown[f"{tricky}.meeting.nfp-2025-04@consultrack"]
        assert span.summary == f"NEASPEC SP 2026-2030: {TITLE}", f"{name} by {parser}"
        assert span.description is not None and span.description.startswith(ACTIVITY + ".\nWho acts:"), name
        assert meeting.summary == TITLE and meeting.location == LOCATION, f"{name} by {parser}"
        assert meeting.local["Asia/Seoul"] == ("2025-04-10 15:00", "2025-04-10 18:00")
        deadline = shown[f"{tricky}.deadline.consultations@consultrack"]
        assert deadline.summary == f"Deadline: {TITLE} (NEASPEC SP 2026-2030)"


def test_the_change_counts_as_a_change(tricky: str) -> None:
    """Renaming bumps the version: the feed's SEQUENCE goes up and a cached rendering is not reused."""
    with clock.frozen(seoul("2025-03-01 09:00") + timedelta(hours=1)):
        shown = PARSERS["icalendar"](process_body(tricky), ["UTC"])
    assert shown[f"{tricky}.meeting.nfp-2025-04@consultrack"].sequence == 1
