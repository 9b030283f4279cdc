"""Feeds never fail for what is stored. Rows written before dates and text were bounded (written here with SQL,
as old data would be) are left out or cleaned, the feeds are still served, and /healthz says what was left out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import icalendar
import pytest
import vobject
from fastapi.testclient import TestClient
from icalendar.parser import unescape_backslash
from sqlalchemy import text

from config import clock
from consultrack.web.app import create_app
from models.db import session_scope
from tests.calendars.parsers import PARSERS
from tests.conftest import ACTOR

ANNA = "anna.volkova@example.org"
INJECTED = "ATTENDEE:mailto:thief@evil.example"


def write(sql: str, **values: Any) -> None:
    """Change rows behind the rules' back, bumping the version as any change does (the feeds' cache key)."""
    with session_scope() as session:
        session.execute(text(sql), values)


@pytest.fixture
def client(neaspec: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def absurd(neaspec: str) -> str:
    """Consultations starting in year 1, the draft review ending in 9998, the NFP meeting on 31 December 9999."""
    write("UPDATE stage SET start_date = :day, version = version + 1 WHERE key = 'consultations'", day=date(1, 1, 1))
    write(
        "UPDATE stage SET end_date = :day, due_date = :day, version = version + 1 WHERE key = 'draft-review'",
        day=date(9998, 12, 31),
    )
    write(
        "UPDATE meeting SET day = :day, end_day = :day, version = version + 1 WHERE key = 'nfp-2025-04'",
        day=date(9999, 12, 31),
    )
    return neaspec


def _token(email: str) -> str:
    from models.token_rules import issue_feed_token

    with session_scope() as session:
        return issue_feed_token(session, email, actor=ACTOR, now=clock.now()).secret


def _api_token() -> str:
    from models.accounts import create_account
    from models.enums import AccountRole
    from models.token_rules import issue_api_token

    with session_scope() as session:
        create_account(session, "monitor", "a long enough password", AccountRole.VIEWER, actor=ACTOR, now=clock.now())
        return issue_api_token(session, "monitor", label="monitor", actor=ACTOR, now=clock.now()).secret


def test_feeds_are_served_without_the_rows_they_cannot_render(client: TestClient, absurd: str) -> None:
    paths = {
        "process": f"/calendars/processes/{absurd}.ics",
        "state": "/calendars/member-states/RU.ics",
        "person": f"/calendars/{_token(ANNA)}.ics",
    }
    for name, path in paths.items():
        reply = client.get(path)
        assert reply.status_code == 200, f"{name}: {reply.text}"
        shown = PARSERS["icalendar"](reply.content, ["UTC"])
        assert f"{absurd}.stage.outline-feedback@consultrack" in shown, name  # the rest is there
        for left_out in (
            "stage.consultations",
            "deadline.consultations",
            "stage.draft-review",
            "deadline.draft-review",
            "meeting.nfp-2025-04",
        ):
            assert f"{absurd}.{left_out}@consultrack" not in shown, f"{name}: {left_out}"


def test_healthz_says_what_the_feeds_leave_out(client: TestClient, absurd: str) -> None:
    anonymous = client.get("/healthz").json()
    assert anonymous["feeds"] == {"ok": False}, "the verdict for anyone, no details"
    detailed = client.get("/healthz", headers={"Authorization": f"Bearer {_api_token()}"}).json()
    skipped = detailed["feeds"]["skipped"]
    assert detailed["feeds"]["ok"] is False and len(skipped) == 3
    assert (
        "NEASPEC SP 2026-2030: stage 'Consultations with member States' (consultations) is left out of the "
        "feeds: its dates (0001-01-01) are outside 1990-2100; reschedule it"
    ) in skipped
    assert any("meeting" in s and "(nfp-2025-04)" in s and "9999-12-31" in s for s in skipped), skipped
    assert any("(draft-review)" in s and "9998-12-31" in s for s in skipped), skipped


def test_healthz_feeds_are_fine_on_sane_data(client: TestClient, neaspec: str) -> None:
    assert client.get("/healthz", headers={"Authorization": f"Bearer {_api_token()}"}).json()["feeds"] == {"ok": True}


def test_a_reschedule_repairs_what_was_left_out(client: TestClient, neaspec: str) -> None:
    """The process's own range is not counted from a first stage beyond reason: the stage can be moved back."""
    from models.schedule import apply_reschedule

    write("UPDATE stage SET start_date = :day, version = version + 1 WHERE key = 'consultations'", day=date(1, 1, 1))
    url = f"/calendars/processes/{neaspec}.ics"
    assert f"{neaspec}.stage.consultations@consultrack" not in PARSERS["icalendar"](client.get(url).content, ["UTC"])
    with session_scope() as session:
        apply_reschedule(
            session,
            neaspec,
            "consultations",
            actor=ACTOR,
            now=clock.now(),
            reason="repair",
            start=date(2025, 4, 1),
            end=date(2025, 4, 30),
        )
    shown = PARSERS["icalendar"](client.get(url).content, ["UTC"])
    assert shown[f"{neaspec}.stage.consultations@consultrack"].start == "2025-04-01"


# -- text ------------------------------------------------------------------------------------------------------------

TITLE = f"Strategic plan\r{INJECTED}, with commas; and semicolons"


@pytest.fixture
def injected(neaspec: str) -> str:
    write("UPDATE process SET title = :title, short_name = :short", title=TITLE, short=f"SP\r{INJECTED}, 2026")
    write("UPDATE member_state SET name = :name WHERE code = 'RU'", name="Russian\x0bFederation")
    write("UPDATE person SET name = :name WHERE email = :email", name="Anna\x0bVolkova", email=ANNA)
    return neaspec


def _calendar_texts(body: bytes) -> list[dict[str, str]]:
    """The calendar-level properties as icalendar and vobject read them (TEXT values unescaped: icalendar leaves
    the properties it does not know, NAME and X- ones, as written), with the check that neither finds a property
    the text injected."""
    cal = icalendar.Calendar.from_ical(body)
    assert "ATTENDEE" not in cal
    read = vobject.readOne(body.decode("utf-8"))
    assert "attendee" not in read.contents
    by_icalendar = {name: unescape_backslash(str(cal[name])) for name in ("NAME", "X-WR-CALNAME", "X-WR-CALDESC")}
    by_vobject = {name: read.contents[name.lower()][0].value for name in ("NAME", "X-WR-CALNAME", "X-WR-CALDESC")}
    by_icalendar["DESCRIPTION"], by_vobject["DESCRIPTION"] = str(cal["DESCRIPTION"]), read.description.value
    return [by_icalendar, by_vobject]


def test_titles_cannot_inject_calendar_properties(client: TestClient, injected: str) -> None:
    body = client.get(f"/calendars/processes/{injected}.ics").content
    assert b"\r" not in body.replace(b"\r\n", b"")
    for texts in _calendar_texts(body):
        assert texts["NAME"] == texts["X-WR-CALNAME"] == f"SP {INJECTED}, 2026"
        wanted = f"Strategic plan\n{INJECTED}, with commas; and semicolons: stages, deadlines and meetings."
        assert texts["DESCRIPTION"] == texts["X-WR-CALDESC"] == wanted


def test_state_and_person_names_are_cleaned(client: TestClient, injected: str) -> None:
    state = client.get("/calendars/member-states/RU.ics").content
    person = client.get(f"/calendars/{_token(ANNA)}.ics").content
    for body in (state, person):
        assert b"\x0b" not in body
    state_texts = _calendar_texts(state)
    process = f"SP {INJECTED}, 2026"  # the CR of the stored short name is a space: a value, never a property
    assert all(t["X-WR-CALNAME"] == f"{process}: Russian Federation" for t in state_texts)
    assert all(t["X-WR-CALDESC"].startswith("Deadlines and meetings for the Russian Federation") for t in state_texts)
    named = f"{process}: Russian Federation (Anna Volkova)"
    assert all(t["X-WR-CALNAME"] == named for t in _calendar_texts(person))
