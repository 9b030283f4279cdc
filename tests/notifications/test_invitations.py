"""Invitations, updates and cancellations of a meeting: rows queued once, sent by the sweep through a real SMTP
server with an iTIP part that the feeds' parsers read as the feed's own meeting event (same UID, SEQUENCE in
step, the times right in each reader's zone); meeting reminders instead of response reminders at a meeting-gated
stage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import icalendar
import pytest
from sqlmodel import select

from calendars import events
from models import lifecycle, meetings
from models.db import read_session, session_scope
from models.directory import Person
from models.enums import MeetingStatus, ReminderRule, ReminderStatus
from models.errors import InvalidInput
from models.process import Meeting, Process, Stage
from models.queries import get_meeting, get_process
from models.reminder import Reminder, meeting_id_of
from notifications.mail.render import Rendered, render
from notifications.reminders.context import load_world
from notifications.reminders.invitations import meeting_message, queue_invitations
from notifications.reminders.planner import desired_rows, replan_key
from notifications.reminders.preview import upcoming
from notifications.reminders.sweep import SweepReport
from tests.calendars.parsers import PARSERS, node_available
from tests.conftest import ACTOR, NEASPEC, seoul
from tests.notifications.conftest import rows, sweep_at
from tests.notifications.smtp_server import Server
from tests.notifications.test_render import check_golden

ZONES = ["Europe/Moscow", "Asia/Ulaanbaatar", "Asia/Tokyo"]
INVITED = 14  # six focal points, six alternates, two of the secretariat
NFP = "nfp-2025-04"


def invite(at: str) -> int:
    with session_scope() as session:
        process = get_process(session, NEASPEC)
        count = queue_invitations(session, get_meeting(session, process, NFP), seoul(at))
        replan_key(session, NEASPEC, seoul(at))
    return count


def move_meeting(at: str, day: date) -> None:
    """What a move of the meeting leaves behind (its own rule is another change's): a new day, a new version."""
    with session_scope() as session:
        meeting = get_meeting(session, get_process(session, NEASPEC), NFP, for_update=True)
        meeting.day = meeting.end_day = day
        meeting.version += 1
        meeting.modified_at = seoul(at)
        replan_key(session, NEASPEC, seoul(at))


def calendar_part(message: EmailMessage) -> tuple[str, bytes]:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(part.get_param("method")), payload


def feed_event() -> icalendar.Event:
    with read_session() as session:
        process = get_process(session, NEASPEC)
        meeting = get_meeting(session, process, NFP)
        return events.meeting_event(process, meeting, session.get(Stage, meeting.stage_id))


def read_everywhere(body: bytes) -> dict[str, Any]:
    parsers = {name: read for name, read in PARSERS.items() if name != "ical.js" or node_available()}
    shown = {name: read(body, ZONES) for name, read in parsers.items()}
    for name, found in shown.items():
        assert len(found) == 1, name
    first, *others = [next(iter(found.values())) for found in shown.values()]
    assert all(other == first and other.local == first.local for other in others)  # every parser reads the same
    return {"uid": first.uid, "sequence": first.sequence, "local": first.local, "status": first.status}


async def sent_by_sweep(at: str) -> int:
    report = await sweep_at(at)
    assert isinstance(report, SweepReport)
    return report.sent


def messages(server: Server, subject: str) -> dict[str, EmailMessage]:
    return {d.rcpt_tos[0]: d.message for d in server.deliveries if str(d.message["Subject"]).startswith(subject)}


async def test_invitation_update_and_cancel_follow_the_feed(march: str, smtp: Callable[..., Server]) -> None:
    server = smtp()
    assert invite("2025-03-03 10:00") == INVITED
    await sweep_at("2025-03-03 10:00")
    invited = messages(server, "Invitation for ")
    assert len(invited) == INVITED
    assert invite("2025-03-03 11:00") == 0  # inviting twice resends nothing
    assert await sent_by_sweep("2025-03-03 11:00") == 0

    moscow = invited["anna.volkova@example.org"]
    text = moscow.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "When: Thursday 10 April 2025, 09:00 to 12:00, Moscow time (UTC+3), your time" in text
    assert "that is Thursday 10 April 2025, 15:00 to 18:00, Seoul time (UTC+9)" in text
    method, body = calendar_part(moscow)
    assert method == "REQUEST" and icalendar.Calendar.from_ical(body)["METHOD"] == "REQUEST"
    feed = feed_event()
    read = read_everywhere(body)
    assert read["uid"] == str(feed["UID"]) and read["sequence"] == feed.decoded("SEQUENCE") == 0
    assert read["local"] == {
        "Europe/Moscow": ("2025-04-10 09:00", "2025-04-10 12:00"),
        "Asia/Ulaanbaatar": ("2025-04-10 14:00", "2025-04-10 17:00"),
        "Asia/Tokyo": ("2025-04-10 15:00", "2025-04-10 18:00"),
    }
    event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["ATTENDEE"]) == "mailto:anna.volkova@example.org"
    assert str(event["ORGANIZER"]) == "mailto:minji.secretariat@example.org"

    move_meeting("2025-03-04 09:00", date(2025, 4, 25))
    await sweep_at("2025-03-04 09:00")
    updated = messages(server, "Meeting changed, ")
    assert len(updated) == INVITED
    method, body = calendar_part(updated["tsetseg.b@example.org"])
    read = read_everywhere(body)
    feed = feed_event()
    assert method == "REQUEST" and read["uid"] == str(feed["UID"]) and read["sequence"] == feed.decoded("SEQUENCE") == 1
    assert read["local"]["Asia/Ulaanbaatar"] == ("2025-04-25 14:00", "2025-04-25 17:00")

    with session_scope() as session:
        meetings.set_meeting_status(
            session, NEASPEC, NFP, MeetingStatus.CANCELLED, actor=ACTOR, now=seoul("2025-03-05 09:00"), reason="x"
        )
        replan_key(session, NEASPEC, seoul("2025-03-05 09:00"))
    await sweep_at("2025-03-05 09:00")
    cancelled = messages(server, "Meeting cancelled ")
    assert len(cancelled) == INVITED
    method, body = calendar_part(cancelled["sato.yuki@example.org"])
    read = read_everywhere(body)
    feed = feed_event()
    assert method == "CANCEL" and icalendar.Calendar.from_ical(body)["METHOD"] == "CANCEL"
    assert read["uid"] == str(feed["UID"]) and read["sequence"] == feed.decoded("SEQUENCE") == 2
    assert read["status"] == "CANCELLED"
    assert read["local"]["Asia/Tokyo"] == ("2025-04-25 15:00", "2025-04-25 18:00")
    total = len(server.deliveries)
    assert await sent_by_sweep("2025-03-05 09:10") == 0 and len(server.deliveries) == total


def test_inviting_nobody_is_refused_and_writes_nothing(march: str) -> None:
    with session_scope() as session:
        meeting = get_meeting(session, get_process(session, NEASPEC), NFP, for_update=True)
        meeting.attendees = []
    with pytest.raises(InvalidInput, match="invites nobody"), session_scope() as session:
        queue_invitations(session, get_meeting(session, get_process(session, NEASPEC), NFP), seoul("2025-03-03 10:00"))
    assert rows(rule=ReminderRule.INVITATION) == []


def test_a_meeting_gated_stage_reminds_of_the_meeting_not_of_a_response(march: str) -> None:
    """consultations (gate: the NFP meeting held, 10 April 15:00 Seoul, online): its focal points get no response
    reminders; those invited get the meeting's reminders 7 days and 1 day before, in their local morning on a
    working day, and one an hour before it starts."""
    with session_scope() as session:
        stage = session.exec(select(Stage).where(Stage.key == "consultations")).one()
        stage.state, stage.started_at = lifecycle.StageState.ACTIVE, seoul("2025-04-01 09:00")
    invite("2025-04-01 10:00")
    with read_session() as session:
        process = session.exec(select(Process).where(Process.key == NEASPEC)).one()
        consultations = session.exec(select(Stage).where(Stage.key == "consultations")).one()
        wanted = [p for p in desired_rows(session, process, seoul("2025-04-01 10:00")).values()]
        meeting = session.exec(select(Meeting).where(Meeting.key == NFP)).one()
    mine = [p for p in wanted if p.stage_id == consultations.id]
    assert {p.rule for p in mine} == {ReminderRule.START, ReminderRule.MEETING_BEFORE, ReminderRule.MEETING_SOON}
    tokyo = sorted(p.send_at for p in mine if p.rule is not ReminderRule.START and p.person_id == _person("sato.yuki"))
    start = seoul("2025-04-10 15:00")
    assert tokyo == [seoul("2025-04-03 09:00"), seoul("2025-04-09 09:00"), start - timedelta(hours=1)]
    assert meeting.virtual
    assert all(r.status is ReminderStatus.PENDING for r in rows(rule=ReminderRule.MEETING_SOON))
    with read_session() as session:  # `remind preview` words them as they will go
        subjects = {line.subject.split(":")[0] for line in upcoming(session, seoul("2025-04-01 10:00"), 10)}
    assert {
        "Invitation for Thursday 10 April",
        "Meeting in 7 days, Thursday 10 April",
        "Meeting tomorrow, Thursday 10 April",
        "Starts in one hour",
    } <= subjects


def _person(local: str) -> int:
    from models.directory import Person

    with read_session() as session:
        person = session.exec(select(Person).where(Person.email == f"{local}@example.org")).one()
        assert person.id is not None
        return person.id


def rendered_meeting_mail(email: str, rule: ReminderRule, now: str) -> Rendered:
    with read_session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        row = rows(person_id=person.id, rule=rule)[-1]
        world = load_world(session, [row])
        stage = world.stages[row.stage_id]
        name, ctx, _ics, _method = meeting_message(
            session,
            row,
            world.meetings[meeting_id_of(row.occurrence)],
            world.processes[stage.process_id],
            stage,
            person,
            seoul(now),
            world.contacts,
        )
        return render(name, ctx)


def test_golden_meeting_mails_in_moscow(march: str) -> None:
    """The invitation, the reminder a day before, the update and the cancellation, as Anna Volkova (Moscow)
    reads them: the meeting's time in its zone and in hers."""
    invite("2025-04-01 10:00")
    invitation = rendered_meeting_mail("anna.volkova@example.org", ReminderRule.INVITATION, "2025-04-01 10:00")
    assert invitation.subject == (
        "Invitation for Thursday 10 April: Meeting of NEASPEC National Focal Points (NEASPEC SP 2026-2030)"
    )
    assert "When: Thursday 10 April 2025, 09:00 to 12:00, Moscow time (UTC+3), your time" in invitation.text
    check_golden("invitation", invitation)
    with session_scope() as session:  # as a sweep leaves them
        for row in session.exec(select(Reminder).where(Reminder.rule == ReminderRule.INVITATION)).all():
            row.status = ReminderStatus.SENT
    with session_scope() as session:  # the meeting reminders are planned once the stage is active
        stage = session.exec(select(Stage).where(Stage.key == "consultations")).one()
        stage.state, stage.started_at = lifecycle.StageState.ACTIVE, seoul("2025-04-01 09:00")
        replan_key(session, NEASPEC, seoul("2025-04-01 10:00"))
    check_golden(
        "meeting_reminder",
        rendered_meeting_mail("anna.volkova@example.org", ReminderRule.MEETING_BEFORE, "2025-04-09 15:00"),
    )
    move_meeting("2025-04-02 09:00", date(2025, 4, 25))
    check_golden(
        "meeting_update",
        rendered_meeting_mail("anna.volkova@example.org", ReminderRule.MEETING_UPDATE, "2025-04-02 09:00"),
    )
    with session_scope() as session:
        meetings.set_meeting_status(
            session, NEASPEC, NFP, MeetingStatus.CANCELLED, actor=ACTOR, now=seoul("2025-04-03 09:00"), reason="x"
        )
        replan_key(session, NEASPEC, seoul("2025-04-03 09:00"))
    # The update had not gone yet: it is withdrawn, and those invited are told the meeting is cancelled.
    assert {r.status for r in rows(rule=ReminderRule.MEETING_UPDATE)} == {ReminderStatus.CANCELLED}
    assert len(rows(rule=ReminderRule.MEETING_CANCELLED)) == INVITED
    check_golden(
        "meeting_cancelled",
        rendered_meeting_mail("anna.volkova@example.org", ReminderRule.MEETING_CANCELLED, "2025-04-03 09:00"),
    )
