"""Owners who cannot record a response (secretariat, stakeholders, SOM delegates) owe the stage's gate: they are
reminded while it is not met, and no longer once it is (models.gates decides), once a change meets it (replanned in
its transaction; a meeting's end alone meets nothing). Start notices still go to every owner."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from models import lifecycle, meetings
from models.db import session_scope
from models.enums import MeetingStatus, ReminderStatus
from models.process import Meeting, Stage
from notifications.reminders.planner import replan_key
from tests.conftest import ACTOR, NEASPEC, seoul
from tests.notifications.conftest import change, emails_of, respond, rows, stage_id, sweep_at
from tests.notifications.smtp_server import Server

KICKOFF_OWNERS = ["arjun.programme@example.org", "minji.secretariat@example.org", "yamada.delegate@example.org"]
REMINDED = KICKOFF_OWNERS[:2]
"""The secretariat, whose part is the meeting-held gate; the SOM delegate's part is to attend the meeting (a
meeting-gated stage asks attendance of the others): meeting reminders, once invited, not gate reminders."""
SAM = "sam.partner@example.org"


def start_kickoff() -> None:
    change(
        seoul("2024-12-13 10:00"), lambda s, at: lifecycle.start_stage(s, NEASPEC, "som27-kickoff", actor=ACTOR, now=at)
    )


def make_egm_tentative() -> None:
    """The SOM-27 meeting's date unconfirmed: its gate cannot be met by the clock, only by recording it held."""
    with session_scope() as session:
        meeting = session.exec(select(Meeting).where(Meeting.key == "som27-egm")).one()
        meeting.tentative = True


def kickoff_reminders(**where: object) -> list[object]:
    return [r for r in rows(stage_id=stage_id("som27-kickoff"), **where) if r.rule != "stage_started"]


def record_egm_held() -> None:
    """The demo: SOM-27 (13 December, Beijing) recorded held the next morning, before the first overdue reminder."""
    change(
        seoul("2024-12-14 11:00"),
        lambda s, at: meetings.set_meeting_status(s, NEASPEC, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=at),
    )


def test_no_reminder_after_the_meeting_is_recorded_held(neaspec: str) -> None:
    start_kickoff()
    kickoff = rows(stage_id=stage_id("som27-kickoff"))
    assert emails_of([r for r in kickoff if r.rule == "stage_started"]) == KICKOFF_OWNERS  # every owner
    assert {r.rule for r in kickoff_reminders(status=ReminderStatus.PENDING)} == {"overdue"}  # its end proves nothing
    record_egm_held()
    assert kickoff_reminders(status=ReminderStatus.PENDING) == []


async def test_the_demo_sends_no_overdue_reminder_once_the_meeting_was_held(
    neaspec: str, smtp: Callable[..., Server]
) -> None:
    server = smtp()
    start_kickoff()
    assert (await sweep_at("2024-12-13 10:00")).sent == 3  # the start notices
    record_egm_held()
    report = await sweep_at("2024-12-16 09:30")  # before the secretariat advances the stage at 10:00
    assert report.sent == 0 and len(server.deliveries) == 3
    assert not [d for d in server.deliveries if "overdue" in str(d.message["Subject"])]


def test_recording_the_meeting_held_cancels_the_pending_reminders(neaspec: str) -> None:
    make_egm_tentative()
    start_kickoff()
    pending = kickoff_reminders(status=ReminderStatus.PENDING)
    assert {r.rule for r in pending} == {"overdue"} and emails_of(pending) == sorted(REMINDED * 3)
    change(
        seoul("2024-12-17 12:00"),
        lambda s, at: meetings.set_meeting_status(s, NEASPEC, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=at),
    )
    left = kickoff_reminders()
    assert kickoff_reminders(status=ReminderStatus.PENDING) == []
    assert {r.details["why"] for r in left if r.status is ReminderStatus.CANCELLED} == {"gate met (meeting_held)"}
    with session_scope() as session:  # replanning again keeps them cancelled
        assert replan_key(session, NEASPEC, seoul("2024-12-18 12:00")).moved == 0
    assert kickoff_reminders(status=ReminderStatus.PENDING) == []


async def test_the_sweep_does_not_send_once_the_gate_is_met(neaspec: str, smtp: Callable[..., Server]) -> None:
    """The guard for the gap: the meeting recorded held without a replan still stops the reminder."""
    server = smtp()
    make_egm_tentative()
    start_kickoff()
    await sweep_at("2024-12-13 10:00")
    with session_scope() as session:
        session.exec(select(Meeting).where(Meeting.key == "som27-egm")).one().status = MeetingStatus.HELD
    report = await sweep_at("2024-12-16 09:30")
    assert report.sent == 0 and report.cancelled == 2 and len(server.deliveries) == 3
    cancelled = kickoff_reminders(status=ReminderStatus.CANCELLED)
    assert emails_of(cancelled) == REMINDED
    assert {r.details["why"] for r in cancelled} == {"gate met (meeting_held)"}


async def test_while_the_gate_is_not_met_the_owners_are_reminded(neaspec: str, smtp: Callable[..., Server]) -> None:
    server = smtp()
    make_egm_tentative()
    start_kickoff()
    report = await sweep_at("2024-12-16 09:30")
    overdue = [d for d in server.deliveries if "3 days overdue" in str(d.message["Subject"])]
    assert sorted(d.rcpt_tos[0] for d in overdue) == REMINDED  # the overdue reminders
    assert report.sent == 3 and report.late == 1  # and the SOM delegate's start notice, late (no sweep since)


def _stakeholders_review_outline(session: object, at: object) -> None:
    stage = session.exec(select(Stage).where(Stage.key == "outline-feedback")).one()  # type: ignore[attr-defined]
    stage.owners = ["member_states", "stakeholders"]
    stage.gate = {"kind": "responses", "quorum": 2}


def test_stakeholders_stop_being_reminded_once_the_responses_gate_is_met(march: str) -> None:
    change(seoul("2025-03-04 09:00"), _stakeholders_review_outline)
    sam = [r for r in rows(stage_id=stage_id("outline-feedback")) if emails_of([r]) == [SAM]]
    assert {r.rule for r in sam} == {"stage_started", "before", "overdue"}
    respond("KR", "2025-03-10 15:00")
    assert {r.status for r in rows(stage_id=stage_id("outline-feedback")) if emails_of([r]) == [SAM]} == {
        ReminderStatus.PENDING
    }  # one response of the two needed
    respond("CN", "2025-03-14 11:00")  # the quorum: the gate is met
    sam = [r for r in rows(stage_id=stage_id("outline-feedback")) if emails_of([r]) == [SAM]]
    reminders = [r for r in sam if r.rule != "stage_started"]
    assert {r.status for r in reminders} == {ReminderStatus.CANCELLED}
    assert {r.details["why"] for r in reminders} == {"gate met (responses)"}
    assert [r.status for r in sam if r.rule == "stage_started"] == [ReminderStatus.PENDING]  # the start notice
    # Member States that have not responded are still reminded (their part is their own response).
    still = rows(stage_id=stage_id("outline-feedback"), status=ReminderStatus.PENDING, rule="overdue")
    assert "sato.yuki@example.org" in emails_of(still) and "li.wei@example.org" not in emails_of(still)
