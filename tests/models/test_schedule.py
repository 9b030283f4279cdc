"""Rescheduling: the moved stage, the stages that follow it, their meetings; previewed before applied."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from models import lifecycle, meetings
from models.db import read_session, session_scope
from models.enums import MeetingStatus
from models.errors import InvalidInput, TransitionRefused
from models.queries import get_meeting, get_process, get_stage, stages_of
from models.schedule import apply_reschedule, plan_reschedule
from tests.conftest import ACTOR, seoul
from tests.helpers import fingerprint

P = "neaspec-sp-2026-2030"


def windows() -> dict[str, tuple[date, date, date]]:
    with read_session() as s:
        return {st.key: (st.start_date, st.end_date, st.due_date) for st in stages_of(s, get_process(s, P))}


def test_extending_feedback_pushes_everything_after_it(neaspec: str) -> None:
    before = windows()
    snapshot = fingerprint()
    with read_session() as s:
        plan = plan_reschedule(s, get_process(s, P), "outline-feedback", end=date(2025, 4, 15))
    assert fingerprint() == snapshot  # a preview writes nothing
    moved = {m.key: (m.new_start, m.new_end, m.because) for m in plan.stages}
    assert moved["outline-feedback"] == (date(2025, 3, 1), date(2025, 4, 15), "rescheduled")
    assert moved["consultations"] == (date(2025, 4, 16), date(2025, 5, 15), "follows outline-feedback")
    assert moved["drafting"][:2] == (date(2025, 5, 16), date(2025, 7, 15))
    assert "som27-kickoff" not in moved and "annotated-outline" not in moved
    assert [(m.key, m.old_day, m.new_day) for m in plan.meetings] == [
        ("nfp-2025-04", date(2025, 4, 10), date(2025, 4, 25)),
        ("som-28", date(2025, 11, 1), date(2025, 11, 17)),  # to be confirmed: it goes with its stage
    ]

    with session_scope() as s:
        apply_reschedule(
            s,
            P,
            "outline-feedback",
            actor=ACTOR,
            now=seoul("2025-03-20 09:00"),
            reason="NFPs asked for two more weeks",
            end=date(2025, 4, 15),
        )
    after = windows()
    assert after["outline-feedback"] == (date(2025, 3, 1), date(2025, 4, 15), date(2025, 4, 15))
    assert after["consultations"][0] == date(2025, 4, 16)
    assert after["som27-kickoff"] == before["som27-kickoff"]
    with read_session() as s:
        process = get_process(s, P)
        meeting = get_meeting(s, process, "nfp-2025-04")
        assert (meeting.day, meeting.start_time, meeting.timezone) == (date(2025, 4, 25), time(15), "Asia/Seoul")
        assert meeting.version == 2
        assert get_stage(s, process, "consultations").version == 2


@pytest.mark.parametrize(
    ("feedback_ends", "meeting_day"),
    [
        (date(2025, 4, 3), None),  # consultations from 4 April: the agreed 10 April is still inside, and stays
        (date(2025, 4, 15), date(2025, 4, 25)),  # from 16 April: it moves with the stage, 15 days
        (date(2025, 4, 16), date(2025, 4, 28)),  # 16 days would be Saturday 26 April: the Monday after
    ],
)
def test_a_meeting_keeps_its_agreed_day_while_it_fits_its_stage(
    neaspec: str, feedback_ends: date, meeting_day: date | None
) -> None:
    with read_session() as s:
        plan = plan_reschedule(s, get_process(s, P), "outline-feedback", end=feedback_ends)
    assert "consultations" in {m.key for m in plan.stages}
    nfp = [(m.key, m.new_day) for m in plan.meetings if m.key != "som-28"]  # SOM-28, to be confirmed, goes along
    assert nfp == ([("nfp-2025-04", meeting_day)] if meeting_day else [])


@pytest.mark.parametrize(
    ("consultations_end", "meeting_day"),
    [
        (date(2025, 4, 8), date(2025, 4, 8)),  # the window now ends before 10 April: the meeting comes into it
        (date(2025, 4, 6), date(2025, 4, 4)),  # ...and the window's last day is a Sunday: the Friday before
    ],
)
def test_a_window_shortened_past_its_meeting_takes_the_meeting_along(
    neaspec: str, consultations_end: date, meeting_day: date
) -> None:
    with read_session() as s:
        plan = plan_reschedule(s, get_process(s, P), "consultations", end=consultations_end)
    assert [(m.key, m.new_day) for m in plan.meetings] == [("nfp-2025-04", meeting_day)]


def test_moving_earlier_pulls_nothing(neaspec: str) -> None:
    with read_session() as s:
        plan = plan_reschedule(s, get_process(s, P), "outline-feedback", end=date(2025, 3, 25))
    assert [m.key for m in plan.stages] == ["outline-feedback"]


def test_confirming_the_tentative_som28(neaspec: str) -> None:
    with session_scope() as s:
        apply_reschedule(
            s,
            P,
            "som28-adoption",
            actor=ACTOR,
            now=seoul("2025-09-01 09:00"),
            reason="Host confirmed",
            start=date(2025, 11, 25),
            end=date(2025, 11, 26),
            confirm=True,
        )
    with read_session() as s:
        stage = get_stage(s, get_process(s, P), "som28-adoption")
    assert (stage.start_date, stage.end_date, stage.tentative, stage.tentative_note) == (
        date(2025, 11, 25),
        date(2025, 11, 26),
        False,
        None,
    )


def test_bad_reschedules_change_nothing(neaspec: str) -> None:
    with session_scope() as s:
        lifecycle.start_stage(s, P, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-13 09:00"))
        meetings.set_meeting_status(s, P, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=seoul("2024-12-16 08:00"))
        lifecycle.advance_stage(s, P, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-16 09:00"))
    before = fingerprint()
    cases: list[tuple[type[Exception], str, dict[str, object]]] = [
        (TransitionRefused, "its dates are history", {"stage_key": "som27-kickoff", "end": date(2024, 12, 20)}),
        (
            InvalidInput,
            "ends \\(2025-02-01\\) before it starts",
            {"stage_key": "outline-feedback", "end": date(2025, 2, 1)},
        ),
        (InvalidInput, "outside the window", {"stage_key": "outline-feedback", "due": date(2025, 5, 1)}),
        (InvalidInput, "depends on revision", {"stage_key": "final-nfp-meeting", "start": date(2025, 8, 15)}),
        (InvalidInput, "nothing changes", {"stage_key": "drafting", "end": date(2025, 6, 30)}),
        (InvalidInput, "reason", {"stage_key": "drafting", "end": date(2025, 7, 3), "reason": ""}),
    ]
    for error, says, kw in cases:
        args = {"reason": "test", **kw}
        with pytest.raises(error, match=says), session_scope() as s:
            apply_reschedule(s, P, actor=ACTOR, now=seoul("2025-01-05 09:00"), **args)  # type: ignore[arg-type]
    assert fingerprint() == before


def test_confirming_a_stage_confirms_its_meetings(data_dir: Path, tmp_path: Path) -> None:
    from models.processes import create_process
    from models.template import load_template

    path = tmp_path / "t.yaml"
    path.write_text(
        "key: som-cycle\ntitle: SOM cycle\nshort_name: SOM\nstages:\n"
        "  - key: som\n    name: SOM\n    activity: Meet\n    window: {start: 2025-11-01, end: 2025-12-31}\n"
        "    tentative: true\n    owners: [som]\n    gate: {kind: meeting_held, meeting: som-28}\n"
        "    meetings:\n      - {key: som-28, title: SOM-28, date: 2025-11-20, timezone: Asia/Seoul}\n"
    )
    with session_scope() as s:
        create_process(s, load_template(path), actor=ACTOR, now=seoul("2025-01-01 09:00"))
    with session_scope() as s:
        apply_reschedule(
            s, "som-cycle", "som", actor=ACTOR, now=seoul("2025-09-01 09:00"), reason="Host confirmed", confirm=True
        )
    with read_session() as s:
        process = get_process(s, "som-cycle")
        meeting = get_meeting(s, process, "som-28")
        assert (get_stage(s, process, "som").tentative, meeting.tentative, meeting.version) == (False, False, 2)


def test_an_agreed_meeting_stays_unless_the_secretariat_moves_it(neaspec: str) -> None:
    with session_scope() as s:
        get_meeting(s, get_process(s, P), "nfp-2025-04").agreed = True
    with read_session() as s:
        kept = plan_reschedule(s, get_process(s, P), "outline-feedback", end=date(2025, 4, 15))
        moved = plan_reschedule(
            s, get_process(s, P), "outline-feedback", end=date(2025, 4, 15), move_meetings=["nfp-2025-04"]
        )
        with pytest.raises(InvalidInput, match="the meetings to move: .* has no meeting 'nfp-2099'"):
            plan_reschedule(s, get_process(s, P), "outline-feedback", end=date(2025, 4, 15), move_meetings=["nfp-2099"])
    assert [m.key for m in kept.meetings] == ["som-28"]  # to be confirmed, not agreed: it goes with its stage
    assert [(a.key, a.day, a.proposed, a.moves) for a in kept.agreed] == [
        ("nfp-2025-04", date(2025, 4, 10), date(2025, 4, 25), False)
    ]
    assert kept.warnings == [
        "Adoption at SOM-28 is tentative (SOM-28 date to be confirmed): it would move past its window "
        "(1 November 2025 to 31 December 2025) to 16 November 2025 to 15 January 2026",
        "Adoption at SOM-28 would end on 15 January 2026, after the plan period starts (1 January 2026)",
        "Meeting of NEASPEC National Focal Points on 10 April 2025 was agreed and stays: it falls outside the new "
        "window of Consultations with member States (16 April 2025 to 15 May 2025); moved, it would be on "
        "25 April 2025",
    ]
    assert [(m.key, m.new_day) for m in moved.meetings] == [
        ("nfp-2025-04", date(2025, 4, 25)),
        ("som-28", date(2025, 11, 17)),
    ]
    with session_scope() as s:
        apply_reschedule(
            s,
            P,
            "outline-feedback",
            actor=ACTOR,
            now=seoul("2025-03-20 09:00"),
            reason="more time",
            end=date(2025, 4, 15),
        )
    with read_session() as s:
        assert get_meeting(s, get_process(s, P), "nfp-2025-04").day == date(2025, 4, 10)


def test_overlap_fixed_stages_tentative_milestones_and_limits(neaspec: str) -> None:
    with session_scope() as s:
        process = get_process(s, P)
        get_stage(s, process, "consultations").overlap_days = 5
        get_stage(s, process, "draft-review").fixed = True
    with read_session() as s:
        plan = plan_reschedule(s, get_process(s, P), "outline-feedback", end=date(2025, 4, 15))
        late = plan_reschedule(s, get_process(s, P), "revision", end=date(2026, 1, 15))
    moved = {m.key: (m.new_start, m.new_end) for m in plan.stages}
    assert moved["consultations"] == (date(2025, 4, 11), date(2025, 5, 10))  # five days before feedback ends
    assert "draft-review" not in moved and "revision" not in moved  # fixed: it and what follows it stay
    assert plan.warnings == [
        "Review of the draft by member States and stakeholders has fixed dates (1 July 2025 to 31 July 2025) and "
        "does not move: Draft strategic plan would now end on 10 July 2025, 10 day(s) into it"
    ]
    assert late.warnings == [
        "Adoption at SOM-28 is tentative (SOM-28 date to be confirmed): it would move past its window "
        "(1 November 2025 to 31 December 2025) to 18 March 2026 to 17 May 2026",
        "Adoption at SOM-28 would end on 17 May 2026, after the plan period starts (1 January 2026)",
    ]
