"""Flows for the operations on a meeting (declared in flows/operations.py; the rules are in models/meetings.py).

Moving, editing or cancelling a meeting tells the invited by itself: the re-plan in each flow's transaction queues
their update or cancellation (notifications/reminders/invitations.py: announce_changes)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from prefect import flow
from sqlmodel import Session

from config import clock
from flows.engine import in_transaction, refusals_as_failures
from models import meetings
from models.enums import MeetingStatus
from models.meetings import MeetingFields
from models.process import Meeting
from notifications.reminders.planner import replan_key


async def _apply(operation: Any, process_key: str) -> Meeting:
    def body(session: Session) -> Meeting:
        meeting: Meeting = operation(session)
        replan_key(session, process_key, clock.now())  # a gate, invitations, meeting reminders: all follow it
        return meeting

    result: Meeting = in_transaction(body)
    return result


def _out(meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting": meeting.key,
        "title": meeting.title,
        "status": meeting.status.value,
        "when": meetings.meeting_when(meeting),
        "version": meeting.version,
    }


def _when(
    date: date | None, end_date: date | None, start: time | None, end: time | None, timezone: str | None
) -> meetings.When:
    return meetings.check_when(date, end_date, start, end, timezone)


@flow(name="add-meeting", flow_run_name="{process_key}: add meeting {meeting_key}", persist_result=False)
@refusals_as_failures
async def add_meeting(
    process_key: str,
    meeting_key: str,
    actor: str,
    date: date | None = None,
    end_date: date | None = None,
    start: time | None = None,
    end: time | None = None,
    timezone: str | None = None,
    title: str | None = None,
    kind: str | None = None,
    location: str | None = None,
    virtual: bool | None = None,
    online_link: str | None = None,
    dial_in: str | None = None,
    agenda_link: str | None = None,
    documents_link: str | None = None,
    attendees: list[str] | None = None,
    stage: str | None = None,
    tentative: bool = False,
) -> dict[str, Any]:
    when = _when(date, end_date, start, end, timezone)
    fields = MeetingFields(title, kind, location, virtual, online_link, dial_in, agenda_link, documents_link, attendees)
    meeting = await _apply(
        lambda s: meetings.add_meeting(
            s,
            process_key,
            meeting_key,
            when=when,
            fields=fields,
            actor=actor,
            now=clock.now(),
            stage_key=stage,
            tentative=tentative,
        ),
        process_key,
    )
    return _out(meeting)


@flow(name="edit-meeting", flow_run_name="{process_key}: edit meeting {meeting_key}", persist_result=False)
@refusals_as_failures
async def edit_meeting(
    process_key: str,
    meeting_key: str,
    actor: str,
    title: str | None = None,
    kind: str | None = None,
    location: str | None = None,
    virtual: bool | None = None,
    online_link: str | None = None,
    dial_in: str | None = None,
    agenda_link: str | None = None,
    documents_link: str | None = None,
    attendees: list[str] | None = None,
) -> dict[str, Any]:
    fields = MeetingFields(title, kind, location, virtual, online_link, dial_in, agenda_link, documents_link, attendees)
    meeting = await _apply(
        lambda s: meetings.edit_meeting(s, process_key, meeting_key, fields=fields, actor=actor, now=clock.now()),
        process_key,
    )
    return _out(meeting)


@flow(name="move-meeting", flow_run_name="{process_key}: move meeting {meeting_key}", persist_result=False)
@refusals_as_failures
async def move_meeting(
    process_key: str,
    meeting_key: str,
    actor: str,
    date: date | None = None,
    end_date: date | None = None,
    start: time | None = None,
    end: time | None = None,
    timezone: str | None = None,
    stage: str | None = None,
    tentative: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    when = _when(date, end_date, start, end, timezone)
    meeting = await _apply(
        lambda s: meetings.move_meeting(
            s,
            process_key,
            meeting_key,
            when=when,
            actor=actor,
            now=clock.now(),
            reason=reason,
            stage_key=stage,
            tentative=tentative,
        ),
        process_key,
    )
    return _out(meeting)


@flow(name="cancel-meeting", flow_run_name="{process_key}: cancel meeting {meeting_key}", persist_result=False)
@refusals_as_failures
async def cancel_meeting(process_key: str, meeting_key: str, actor: str, reason: str | None = None) -> dict[str, Any]:
    meeting = await _apply(
        lambda s: meetings.cancel_meeting(s, process_key, meeting_key, reason=reason, actor=actor, now=clock.now()),
        process_key,
    )
    return _out(meeting)


@flow(name="meeting-held", flow_run_name="{process_key}: meeting {meeting_key} held", persist_result=False)
@refusals_as_failures
async def record_meeting_held(
    process_key: str,
    meeting_key: str,
    actor: str,
    held_on: date | None = None,
    attendance: dict[str, str] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    meeting = await _apply(
        lambda s: meetings.record_held(
            s,
            process_key,
            meeting_key,
            actor=actor,
            now=clock.now(),
            held_on=held_on,
            attendance=attendance,
            reason=reason,
        ),
        process_key,
    )
    return _out(meeting)


@flow(name="meeting-attendance", flow_run_name="{process_key}: attendance at {meeting_key}", persist_result=False)
@refusals_as_failures
async def record_meeting_attendance(
    process_key: str, meeting_key: str, actor: str, attendance: dict[str, str], reason: str | None = None
) -> dict[str, Any]:
    meeting = await _apply(
        lambda s: meetings.set_attendance(
            s, process_key, meeting_key, attendance, actor=actor, now=clock.now(), reason=reason
        ),
        process_key,
    )
    return _out(meeting)


@flow(name="meeting-status", flow_run_name="{process_key}: meeting {meeting_key} {status}", persist_result=False)
@refusals_as_failures
async def set_meeting_status(
    process_key: str, meeting_key: str, status: MeetingStatus, actor: str, reason: str | None = None
) -> dict[str, Any]:
    meeting = await _apply(
        lambda s: meetings.set_meeting_status(
            s, process_key, meeting_key, status, actor=actor, now=clock.now(), reason=reason
        ),
        process_key,
    )
    return {"meeting": meeting.key, "status": meeting.status.value}
