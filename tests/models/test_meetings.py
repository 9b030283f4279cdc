"""Meetings on their own (models/meetings.py), as plain functions on a real database: add, move, cancel, held."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlmodel import select

from models import meetings
from models.db import read_session, session_scope
from models.enums import Attendance, MeetingKind, MeetingStatus
from models.errors import Conflict
from models.meetings import MeetingFields, MeetingInputError, When
from models.process import Meeting, MeetingAttendance
from models.queries import get_meeting, get_process
from models.tables import AuditEntry
from tests.conftest import ACTOR, seoul
from tests.conftest import NEASPEC as P
from tests.helpers import fingerprint

NFP = "nfp-2025-04"


def _meeting(key: str) -> Meeting:
    with read_session() as s:
        return get_meeting(s, get_process(s, P), key)


def _move(key: str, when: When, at: str = "2025-03-20 09:00", **kw: object) -> Meeting:
    with session_scope() as s:
        return meetings.move_meeting(s, P, key, when=when, actor=ACTOR, now=seoul(at), **kw)  # type: ignore[arg-type]


def test_som28_is_a_tentative_meeting_and_moving_it_sets_its_date(neaspec: str) -> None:
    som = _meeting("som-28")
    assert (som.kind, som.tentative, som.start_time) == (MeetingKind.SOM, True, None)
    when = meetings.check_when(date(2025, 11, 26), date(2025, 11, 27), time(10), time(17), "Asia/Seoul")
    moved = _move("som-28", when, reason="host country confirmed")
    assert (moved.day, moved.end_day, moved.tentative, moved.version) == (
        date(2025, 11, 26),
        date(2025, 11, 27),
        False,
        2,
    )
    with read_session() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.move")).one()
    assert entry.after is not None and entry.after["summary"] == (
        "Moved \u201cTwenty-eighth Senior Officials Meeting (SOM-28)\u201d from 1 November 2025 (all day) "
        "to 26 November 2025 to 27 November 2025, 10:00-17:00 (Asia/Seoul)"
    )
    assert entry.reason == "host country confirmed"


def test_bad_moves_name_the_field_and_write_nothing(neaspec: str) -> None:
    before = fingerprint()
    april = meetings.check_when(date(2025, 4, 25), None, time(15), time(18), "Asia/Seoul")
    cases: list[tuple[object, str, str]] = [
        (lambda: meetings.check_when(date(2025, 4, 25), None, time(18), time(15), "Asia/Seoul"), "end", "before"),
        (lambda: meetings.check_when(date(2025, 4, 25), None, None, None, "Mars/Olympus"), "timezone", "unknown"),
        (lambda: _move("nfp-2025-05", april), "meeting", "unknown meeting"),
        (
            lambda: _move(NFP, meetings.check_when(date(2026, 3, 1), None, None, None, "Asia/Seoul")),
            "date",
            "outside every stage",
        ),
        (
            lambda: _move(NFP, meetings.check_when(date(2025, 5, 12), None, None, None, "Asia/Seoul")),
            "date",
            "\u201cDraft strategic plan\u201d (1 May 2025 to 30 June 2025)",
        ),
    ]
    for call, field, says in cases:
        with pytest.raises(MeetingInputError) as err:
            call()  # type: ignore[operator]
        assert err.value.field == field and says in err.value.message, err.value.message
    with pytest.raises(MeetingInputError) as err, session_scope() as s:
        meetings.edit_meeting(
            s,
            P,
            NFP,
            fields=MeetingFields(online_link="http://x.example.org"),
            actor=ACTOR,
            now=seoul("2025-03-20 09:00"),
        )
    assert err.value.field == "online_link" and err.value.exit_code == 2 and err.value.http_status == 422
    assert fingerprint() == before
    assert _meeting(NFP).version == 1


def test_held_only_once_begun_and_never_when_cancelled(neaspec: str) -> None:
    before = fingerprint()
    with pytest.raises(MeetingInputError, match="has not started yet"), session_scope() as s:
        meetings.record_held(s, P, NFP, actor=ACTOR, now=seoul("2025-04-10 14:59"))
    assert fingerprint() == before
    with session_scope() as s:
        meetings.record_held(
            s,
            P,
            NFP,
            actor=ACTOR,
            now=seoul("2025-04-10 17:00"),
            attendance={"Japan": "attended", "MN": "apologies"},
        )
    with read_session() as s:
        held = get_meeting(s, get_process(s, P), NFP)
        assert (held.status, held.held_on) == (MeetingStatus.HELD, date(2025, 4, 10))
        assert meetings.attendance_of(s, held) == {"JP": Attendance.ATTENDED, "MN": Attendance.APOLOGIES}
        assert len(s.exec(select(MeetingAttendance)).all()) == 2
    with pytest.raises(Conflict), session_scope() as s:
        meetings.record_held(s, P, NFP, actor=ACTOR, now=seoul("2025-04-11 09:00"))

    with session_scope() as s:
        meetings.cancel_meeting(s, P, "som-28", reason="postponed to 2026", actor=ACTOR, now=seoul("2025-10-01 09:00"))
    before = fingerprint()
    with pytest.raises(MeetingInputError, match="cancelled meeting cannot be recorded held"), session_scope() as s:
        meetings.record_held(s, P, "som-28", actor=ACTOR, now=seoul("2025-12-01 09:00"))
    with pytest.raises(MeetingInputError, match="cancelled meeting cannot be moved") as err:
        _move("som-28", meetings.check_when(date(2025, 12, 2), None, None, None, "Asia/Seoul"))
    assert err.value.field == "status"
    assert fingerprint() == before


def test_add_a_meeting_in_the_stage_whose_window_holds_it(neaspec: str) -> None:
    when = meetings.check_when(date(2025, 10, 14), None, time(14), time(17), "Asia/Seoul")
    fields = MeetingFields(
        title="NFP meeting on the final draft", kind="nfp_meeting", online_link="https://m.example.org/a"
    )
    with session_scope() as s:
        added = meetings.add_meeting(
            s, P, "nfp-2025-10", when=when, fields=fields, actor=ACTOR, now=seoul("2025-09-01 09:00")
        )
        stage_id = added.stage_id
        assert added.version == 1 and added.kind is MeetingKind.NFP_MEETING
    with read_session() as s:
        from models.queries import get_stage

        assert get_stage(s, get_process(s, P), "final-nfp-meeting").id == stage_id
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.add")).one()
    assert entry.after is not None and "m.example.org" not in str(entry.after)


def test_a_template_meeting_takes_the_new_fields_and_refuses_a_plain_http_online_link() -> None:
    from pydantic import ValidationError

    from models.template import MeetingSpec

    base = {"key": "nfp-x", "title": "NFP", "date": "2025-04-10", "timezone": "Asia/Seoul"}
    spec = MeetingSpec.model_validate(
        {**base, "kind": "som", "online_link": "https://m.example.org/j", "dial_in": "+82"}
    )
    assert spec.kind is MeetingKind.SOM and spec.online_link == "https://m.example.org/j"
    with pytest.raises(ValidationError, match="online link must be an https address"):
        MeetingSpec.model_validate({**base, "online_link": "http://m.example.org/j"})


def test_attendance_is_recorded_corrected_with_a_reason_and_cleared(neaspec: str) -> None:
    """Before the meeting (registered) and after (attended): a changed or cleared value needs a reason and keeps
    what it said before in the audit; attendance is no change of the meeting (no update to its invitees)."""

    def attend(values: dict[str, str], reason: str | None = None, when: str = "2025-04-01 10:00") -> None:
        with session_scope() as s:
            meetings.set_attendance(s, P, "nfp-2025-04", values, actor=ACTOR, now=seoul(when), reason=reason)

    def recorded() -> dict[str, str]:
        with read_session() as s:
            found = meetings.attendance_of(s, get_meeting(s, get_process(s, P), "nfp-2025-04"))
        return {code: value.value for code, value in found.items()}

    with read_session() as s:
        version = get_meeting(s, get_process(s, P), "nfp-2025-04").version
    attend({"JP": "registered", "Mongolia": "Registered"})
    assert recorded() == {"JP": "registered", "MN": "registered"}
    stored = fingerprint()
    for values, reason, field, says in [
        ({}, None, "attendance", "give at least one member State's attendance"),
        ({"JP": "maybe"}, None, "attendance", "Japan: 'maybe' is not one of registered, attended, apologies"),
        ({"XX": "attended"}, None, "attendance", "XX"),
        ({"JP": "apologies"}, None, "reason", "a reason is required to change what was recorded for Japan"),
        ({"MN": "none"}, None, "reason", "Mongolia"),
    ]:
        with pytest.raises(MeetingInputError) as refused:
            attend(values, reason)
        assert refused.value.field == field and says in refused.value.message, refused.value.message
    assert fingerprint() == stored  # a refusal writes nothing
    attend({"JP": "apologies", "MN": "none", "KR": "attended"}, "Japan wrote on 9 April", "2025-04-10 18:30")
    assert recorded() == {"JP": "apologies", "KR": "attended"}
    with read_session() as s:
        meeting = get_meeting(s, get_process(s, P), "nfp-2025-04")
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.attendance")).all()[-1]
    assert meeting.version == version  # the invited are not sent an "updated" meeting for it
    assert entry.before == {"Japan": "registered", "Mongolia": "registered"}
    assert (entry.after["Japan"], entry.after["Mongolia"], entry.after["Republic of Korea"]) == (
        "apologies",
        "not recorded",
        "attended",
    )
    assert entry.reason == "Japan wrote on 9 April"
