"""Reminder rows derived from the timeline: who, when (local morning, working day, moved earlier), and how every
change re-derives the pending rows."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from models import lifecycle, schedule
from models.db import read_session, session_scope
from models.directory import Person
from models.enums import ReminderStatus, Role
from notifications.reminders.planner import overdue_days, replan_key
from tests.conftest import ACTOR, NEASPEC, seoul
from tests.notifications.conftest import FOCAL, change, emails_of, respond, rows, stage_id


def local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


def by_person(rule: str, occurrence: int) -> dict[str, str]:
    found = {}
    with read_session() as session:
        for r in rows(rule=rule, occurrence=occurrence, stage_id=stage_id("outline-feedback")):
            person = session.get(Person, r.person_id)
            assert person is not None
            found[person.email] = r.send_at
    return found


def test_focal_points_are_reminded_at_their_local_morning_on_working_days(march: str) -> None:
    start = rows(rule="stage_started", stage_id=stage_id("outline-feedback"))
    assert emails_of(start) == FOCAL  # the secretariat collects responses: it gets the digest, not reminders
    assert {r.send_at for r in start} == {seoul("2025-03-03 10:00")}
    fourteen = by_person("before", 14)
    assert local(fourteen["anna.volkova@example.org"], "Europe/Moscow") == "Mon 2025-03-17 09:00"
    assert local(fourteen["li.wei@example.org"], "Asia/Shanghai") == "Mon 2025-03-17 09:00"
    assert local(fourteen["sato.yuki@example.org"], "Asia/Tokyo") == "Mon 2025-03-17 09:00"
    # Two days before Monday 31 March is a Saturday: the reminder moves earlier, to Friday, never later.
    two = by_person("before", 2)
    assert {local(t, "Asia/Seoul")[:14] for t in two.values()} == {"Fri 2025-03-28"}
    zero = by_person("before", 0)
    assert local(zero["tsetseg.b@example.org"], "Asia/Ulaanbaatar") == "Mon 2025-03-31 09:00"
    # Overdue every 3 days: 3 April, then 6 April (a Sunday) moves LATER, to Monday 7 April (moving it back to
    # Friday 4 April bunched it with the first one), and the third keeps its spacing: Thursday 10 April. In China,
    # where 4 April is Qingming, the first two no longer fall together on 3 April.
    japan = [local(by_person("overdue", n)["sato.yuki@example.org"], "Asia/Tokyo") for n in (1, 2, 3)]
    assert japan == ["Thu 2025-04-03 09:00", "Mon 2025-04-07 09:00", "Thu 2025-04-10 09:00"]
    assert local(by_person("overdue", 2)["anna.volkova@example.org"], "Europe/Moscow") == "Mon 2025-04-07 09:00"
    china = [local(by_person("overdue", n)["li.wei@example.org"], "Asia/Shanghai") for n in (1, 2)]
    assert china == ["Thu 2025-04-03 09:00", "Mon 2025-04-07 09:00"]


def test_overdue_reminders_move_later_across_golden_week_and_keep_their_spacing() -> None:
    """Japan, due Wednesday 30 April 2025: 3 May (Constitution Day, a Saturday) and 6 May (a substitute holiday)
    fall in Golden Week. Each moves to the next working day, and none comes closer than three days to the one
    before: 7, 12 (the 10th is a Saturday) and 15 May, where moving earlier made 2 May twice."""
    days = overdue_days(date(2025, 4, 30), 3, 3, "JP")
    assert [day for _, _, day in days] == [date(2025, 5, 7), date(2025, 5, 12), date(2025, 5, 15)]
    assert [nominal for _, nominal, _ in days] == [date(2025, 5, 3), date(2025, 5, 6), date(2025, 5, 9)]


def test_escalation_goes_to_the_alternate_with_the_secretariat_in_copy(march: str) -> None:
    escalations = rows(rule="escalation")
    assert len(escalations) == 6 and {r.occurrence for r in escalations} == {3}
    assert {tuple(r.cc) for r in escalations} == {("minji.secretariat@example.org", "arjun.programme@example.org")}
    with read_session() as session:
        people = [session.get(Person, r.person_id) for r in escalations]
    assert {p.role for p in people if p} == {Role.ALTERNATE_FOCAL_POINT}
    orlov = next(r for r, p in zip(escalations, people, strict=True) if p and p.email == "pavel.orlov@example.org")
    assert local(orlov.send_at, "Asia/Vladivostok") == "Thu 2025-04-10 09:00"  # his own zone, not Moscow's


def test_a_response_cancels_that_member_states_pending_reminders(march: str) -> None:
    respond("KR", "2025-03-10 15:00")
    korean = [
        r
        for r in rows(stage_id=stage_id("outline-feedback"))
        if emails_of([r])[0] in ("park.jiwoo@example.org", "choi.seoyeon@example.org")
    ]
    assert korean and {r.status for r in korean} == {ReminderStatus.CANCELLED}
    assert {r.details["why"] for r in korean} == {"KR responded"}
    others = rows(stage_id=stage_id("outline-feedback"), status=ReminderStatus.PENDING)
    assert "park.jiwoo@example.org" not in emails_of(others) and len(emails_of(others)) > 20


def test_a_withdrawn_response_reopens_that_member_states_reminders(march: str) -> None:
    def korean(status: ReminderStatus) -> list[object]:
        return [
            r
            for r in rows(stage_id=stage_id("outline-feedback"), status=status)
            if emails_of([r])[0] in ("park.jiwoo@example.org", "choi.seoyeon@example.org")
        ]

    planned = sorted((r.rule, r.occurrence, r.send_at) for r in korean(ReminderStatus.PENDING))  # type: ignore[attr-defined]
    respond("KR", "2025-03-10 15:00")
    assert korean(ReminderStatus.PENDING) == []
    change(
        seoul("2025-03-11 09:00"),
        lambda s, at: lifecycle.withdraw_response(
            s, NEASPEC, "outline-feedback", "KR", actor=ACTOR, now=at, reason="Recorded for the wrong State"
        ),
    )
    again = sorted((r.rule, r.occurrence, r.send_at) for r in korean(ReminderStatus.PENDING))  # type: ignore[attr-defined]
    assert planned and again == planned  # nothing was sent yet: every reminder of both focal points is back


def test_replanning_twice_changes_nothing(march: str) -> None:
    before = [(r.id, r.status, r.send_at) for r in rows()]
    with session_scope() as session:
        result = replan_key(session, NEASPEC, seoul("2025-03-05 09:00"))
    assert (result.added, result.moved, result.cancelled) == (0, 0, 0)
    assert [(r.id, r.status, r.send_at) for r in rows()] == before


def test_reschedule_moves_pending_rows_and_keeps_history(march: str) -> None:
    with session_scope() as session:  # pretend the 14-day reminder to Japan went out
        sent = next(r for r in rows(rule="before", occurrence=14) if emails_of([r]) == ["sato.yuki@example.org"])
        row = session.get(type(sent), sent.id)
        assert row is not None
        row.status = ReminderStatus.SENT
    change(
        seoul("2025-03-18 09:00"),
        lambda s, at: schedule.apply_reschedule(
            s, NEASPEC, "outline-feedback", actor=ACTOR, now=at, reason="more time", end=date(2025, 4, 7), confirm=True
        ),
    )
    seven = by_person("before", 7)
    assert local(seven["sato.yuki@example.org"], "Asia/Tokyo") == "Mon 2025-03-31 09:00"
    assert {r.due_date_seen for r in rows(status=ReminderStatus.PENDING, stage_id=stage_id("outline-feedback"))} == {
        date(2025, 4, 7)
    }
    assert rows(id=sent.id)[0].status is ReminderStatus.SENT  # history is not rewritten


def _sato(rule: str, occurrence: int) -> list[tuple[str, ReminderStatus]]:
    return [
        (r.due_date_seen.isoformat(), r.status)
        for r in rows(rule=rule, occurrence=occurrence)
        if emails_of([r]) == ["sato.yuki@example.org"] and r.status is not ReminderStatus.CANCELLED
    ]


def test_a_sent_reminder_comes_again_only_when_the_deadline_moved_by_its_distance(march: str) -> None:
    with session_scope() as session:  # the 14- and 7-day reminders to Japan went out for 31 March
        for sent in rows(rule="before"):
            if sent.occurrence in (14, 7) and emails_of([sent]) == ["sato.yuki@example.org"]:
                row = session.get(type(sent), sent.id)
                assert row is not None
                row.status = ReminderStatus.SENT
    SENT, PENDING = ReminderStatus.SENT, ReminderStatus.PENDING

    def extend(to: date, at: str) -> None:
        change(
            seoul(at),
            lambda s, now: schedule.apply_reschedule(
                s, NEASPEC, "outline-feedback", actor=ACTOR, now=now, reason="more time", end=to, confirm=True
            ),
        )

    extend(date(2025, 4, 1), "2025-03-25 09:00")  # one day later: "7 days left" is not said again
    assert _sato("before", 7) == [("2025-03-31", SENT)] and _sato("before", 2) == [("2025-04-01", PENDING)]
    extend(date(2025, 4, 9), "2025-03-25 10:00")  # nine days after the 7-day one's deadline: it comes again
    assert _sato("before", 7) == [("2025-03-31", SENT), ("2025-04-09", PENDING)]
    assert _sato("before", 14) == [("2025-03-31", SENT)]  # ...but not the 14-day one
    extend(date(2025, 4, 30), "2025-03-25 11:00")
    assert _sato("before", 14) == [("2025-03-31", SENT), ("2025-04-30", PENDING)]
    assert _sato("before", 7) == [("2025-03-31", SENT), ("2025-04-30", PENDING)]  # the same row, moved
    extend(date(2025, 3, 31), "2025-03-25 12:00")  # back to the first deadline: nothing it already had
    assert _sato("before", 14) == [("2025-03-31", SENT)] and _sato("before", 7) == [("2025-03-31", SENT)]
    assert _sato("before", 2) == [("2025-03-31", PENDING)]


def test_skipping_the_stage_cancels_everything_pending(march: str) -> None:
    change(
        seoul("2025-03-05 09:00"),
        lambda s, at: lifecycle.skip_stage(s, NEASPEC, "outline-feedback", actor=ACTOR, now=at, reason="merged"),
    )
    assert rows(status=ReminderStatus.PENDING) == []
    assert {r.details["why"] for r in rows(stage_id=stage_id("outline-feedback"))} == {"stage skipped"}


def test_a_replaced_focal_point_takes_over_the_reminders(march: str) -> None:
    from models.directory_import import DirectoryIn, PersonIn, import_directory

    directory = DirectoryIn(
        people=[
            PersonIn(
                name="Sato Yuki", email="sato.yuki@example.org", role=Role.ALTERNATE_FOCAL_POINT, member_state="JP"
            ),
            PersonIn(name="Mori Aoi", email="mori.aoi@example.org", role=Role.FOCAL_POINT, member_state="JP"),
        ]
    )
    with session_scope() as session:
        import_directory(session, directory, source="test", actor=ACTOR, now=seoul("2025-03-12 09:00"))
        replan_key(session, NEASPEC, seoul("2025-03-12 09:00"))
        mori = session.exec(select(Person).where(Person.email == "mori.aoi@example.org")).one()
    pending = rows(status=ReminderStatus.PENDING, stage_id=stage_id("outline-feedback"))
    assert "mori.aoi@example.org" in emails_of(pending)
    sato = [r for r in pending if emails_of([r]) == ["sato.yuki@example.org"]]
    assert {r.rule for r in sato} == {"escalation"}  # now the alternate
    assert any(r.person_id == mori.id and r.rule == "stage_started" for r in pending)


def test_stage_policy_overrides_the_process_default(march: str) -> None:
    from models.process import Stage

    with session_scope() as session:
        stage = session.get(Stage, stage_id("outline-feedback"))
        assert stage is not None
        stage.reminder_policy = {
            "before_days": [3],
            "overdue_every_days": 1,
            "overdue_max": 1,
            "escalate_after": 5,
            "on_start": False,
        }
        replan_key(session, NEASPEC, seoul("2025-03-04 09:00"))
    pending = rows(status=ReminderStatus.PENDING)
    assert {(r.rule, r.occurrence) for r in pending} == {("before", 3), ("overdue", 1)}
