"""Flows that invite people to a meeting (flows/operations.py: INVITE). The invitations are reminder rows, sent by
the next sweep; updates and cancellations follow any later change of the meeting by themselves (the planner's
re-plan, notifications/reminders/invitations.py: announce_changes)."""

from __future__ import annotations

from typing import Any

from prefect import flow
from sqlmodel import Session

from config import clock
from flows.engine import in_transaction, refusals_as_failures
from models.audit import record
from models.queries import get_meeting, lock_process
from notifications.reminders.invitations import queue_invitations
from notifications.reminders.planner import replan


def invite(session: Session, process_key: str, meeting_key: str, *, actor: str) -> dict[str, Any]:
    """Queue the invitations of a meeting, audit it, and plan its reminders, in one transaction."""
    now = clock.now()
    process = lock_process(session, process_key)
    meeting = get_meeting(session, process, meeting_key, for_update=True)
    queued = queue_invitations(session, meeting, now)
    if queued:
        meeting.agreed = True  # a date sent to governments stays put: a reschedule keeps it unless told otherwise
        record(
            session,
            at=now,
            actor=actor,
            action="meeting.invite",
            process_key=process.key,
            stage_key=meeting.key,
            after={"invited": queued},
        )
    replan(session, process, now)
    return {"meeting": meeting.key, "title": meeting.title, "invited": queued}


@flow(name="invite-to-meeting", flow_run_name="{process_key}: invite to {meeting_key}", persist_result=False)
@refusals_as_failures
async def invite_to_meeting(process_key: str, meeting_key: str, actor: str) -> dict[str, Any]:
    result: dict[str, Any] = in_transaction(lambda s: invite(s, process_key, meeting_key, actor=actor))
    return result
