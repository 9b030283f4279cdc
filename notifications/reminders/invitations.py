"""Invitations to a meeting, and their updates and cancellation, as reminder rows: one per participant, sent once
by the sweep (claims, retries and Message-IDs as any reminder). Each carries an iTIP part (notifications/mail/ics.py)
with the UID and SEQUENCE of the meeting's event in the feeds.

- `queue_invitations`: a row per participant not yet invited (inviting twice resends nothing);
- `announce_changes` (run by the planner in every change's transaction): once a meeting that has invitations
  changes (a higher version), an update, or a cancellation, for each person invited. An invitation not yet sent
  needs none: it is worded when it goes, with the meeting as it is then."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from config.settings import get_settings
from models import calendar_ids
from models.directory import MemberState, Person
from models.enums import MEETING_MAIL_RULES, MeetingStatus, Owner, ReminderRule, ReminderStatus
from models.errors import InvalidInput
from models.process import Meeting, Process, Stage
from models.queries import meeting_bounds, select_rows
from models.reminder import MEETING_SPAN, Reminder, meeting_id_of, meeting_occurrence
from models.types import table_of
from notifications.mail.ics import meeting_itip
from notifications.mail.render import long_date, span_text
from notifications.reminders.recipients import locate, participants

ATTENDEE_WORDS = {
    Owner.MEMBER_STATES.value: "the focal points of member States",
    Owner.SECRETARIAT.value: "the secretariat",
    Owner.STAKEHOLDERS.value: "stakeholders",
    Owner.SOM.value: "SOM delegates",
}

LIVE = (ReminderStatus.PENDING, ReminderStatus.SENDING, ReminderStatus.SENT)
"""Rows that have reached, or will reach, their recipient."""

MESSAGE_OF_RULE = {
    ReminderRule.INVITATION: "invitation",
    ReminderRule.MEETING_UPDATE: "meeting_update",
    ReminderRule.MEETING_CANCELLED: "meeting_cancelled",
}


Row = tuple[int, int, ReminderRule, int, ReminderStatus]


def _meeting_rows(session: Session, meetings: Sequence[Meeting]) -> list[Row]:
    """(row id, person, rule, occurrence, status) of the invitations, updates and cancellations of the meetings."""
    if not meetings:
        return []
    ranges = [
        col(Reminder.occurrence).between(m.id * MEETING_SPAN, (m.id + 1) * MEETING_SPAN - 1)
        for m in meetings
        if m.id is not None
    ]
    found = select_rows(
        session,
        select_columns(
            col(Reminder.id),
            col(Reminder.person_id),
            col(Reminder.rule),
            col(Reminder.occurrence),
            col(Reminder.status),
        ).where(
            col(Reminder.stage_id).in_({m.stage_id for m in meetings}),
            col(Reminder.rule).in_(list(MEETING_MAIL_RULES)),
            or_(*ranges),
        ),
    ).all()
    return [(row_id or 0, person, rule, occurrence, status) for row_id, person, rule, occurrence, status in found]


def _insert(session: Session, meeting: Meeting, rule: ReminderRule, people: list[int], now: datetime) -> int:
    assert meeting.id is not None
    if not people:
        return 0
    session.connection().execute(
        table_of(Reminder).insert(),
        [
            {
                "stage_id": meeting.stage_id,
                "person_id": person_id,
                "rule": rule,
                "occurrence": meeting_occurrence(meeting.id, meeting.version),
                "offset_days": 0,
                "send_at": now,
                "due_date_seen": meeting.day,
                "status": ReminderStatus.PENDING,
                "cc": [],
                "details": {"meeting": meeting.key, "sequence": calendar_ids.sequence(meeting.version)},
            }
            for person_id in people
        ],
    )
    return len(people)


def queue_invitations(session: Session, meeting: Meeting, now: datetime) -> int:
    """Queue an invitation for each participant not yet invited; how many. Refused (InvalidInput, nothing
    written) for a cancelled or held meeting, or one that invites nobody."""
    assert meeting.id is not None
    if meeting.status is MeetingStatus.CANCELLED:
        raise InvalidInput(f"meeting: {meeting.title} is cancelled; nobody can be invited to it")
    if meeting.status is MeetingStatus.HELD:
        raise InvalidInput(f"meeting: {meeting.title} has been held; nobody can be invited to it any more")
    process = session.get(Process, meeting.process_id)
    assert process is not None
    people = participants(session, meeting, process.timezone)
    if not people:
        attending = ", ".join(ATTENDEE_WORDS.get(a, a) for a in meeting.attendees) or "nobody"
        raise InvalidInput(
            f"participants: {meeting.title} invites nobody: its attendees ({attending}) have no active person in"
            " the directory"
        )
    invited = {
        person_id
        for _id, person_id, rule, _occurrence, status in _meeting_rows(session, [meeting])
        if rule is ReminderRule.INVITATION and status in LIVE
    }
    # A failed or cancelled invitation of this very version is tried again (its key is taken).
    retried = session.exec(
        select(Reminder).where(
            Reminder.rule == ReminderRule.INVITATION,
            Reminder.stage_id == meeting.stage_id,
            Reminder.occurrence == meeting_occurrence(meeting.id, meeting.version),
            Reminder.due_date_seen == meeting.day,
            col(Reminder.status).not_in(list(LIVE)),
        )
    ).all()
    fresh = [r.person.id for r in people if r.person.id is not None and r.person.id not in invited]
    again = 0
    for row in retried:
        if row.person_id in fresh:
            fresh.remove(row.person_id)
            row.status, row.send_at, row.next_attempt_at, row.last_error = ReminderStatus.PENDING, now, None, None
            row.attempts, row.claimed_by = 0, None
            again += 1
    session.flush()
    return again + _insert(session, meeting, ReminderRule.INVITATION, fresh, now)


def queue_meeting_update(session: Session, meeting: Meeting, now: datetime) -> int:
    """For each person invited to `meeting` whose last message about it is older than its version: an update
    (METHOD:REQUEST, a higher SEQUENCE), or a cancellation once the meeting is cancelled; how many. An
    invitation still waiting to go is left to say it all (or, for a cancelled meeting, withdrawn)."""
    assert meeting.id is not None
    if meeting.status is MeetingStatus.HELD:
        return 0
    rows = [r for r in _meeting_rows(session, [meeting]) if r[4] in LIVE]
    if meeting.status is MeetingStatus.CANCELLED:
        # Unsent invitations and updates are withdrawn; who heard of the meeting is told it is cancelled, once.
        unsent = [row_id for row_id, _p, rule, _o, status in rows if status is ReminderStatus.PENDING]
        for row in session.exec(select(Reminder).where(col(Reminder.id).in_(unsent))).all() if unsent else []:
            if row.rule is not ReminderRule.MEETING_CANCELLED:
                row.status = ReminderStatus.CANCELLED
                row.details = {**row.details, "why": "meeting cancelled before it went"}
        heard = {p for _i, p, rule, _o, status in rows if status is not ReminderStatus.PENDING}
        told = {p for _i, p, rule, _o, _s in rows if rule is ReminderRule.MEETING_CANCELLED}
        session.flush()
        return _insert(session, meeting, ReminderRule.MEETING_CANCELLED, sorted(heard - told), now)
    seen: dict[int, int] = {}  # person -> the version of the last message they have, or will have
    for _i, person_id, _rule, occurrence, status in rows:
        # A row still waiting is worded when it goes: with the meeting as it is then.
        version = meeting.version if status is ReminderStatus.PENDING else occurrence % MEETING_SPAN
        seen[person_id] = max(seen.get(person_id, 0), version)
    invited = {p for _i, p, rule, _o, _s in rows if rule is ReminderRule.INVITATION}
    return _insert(
        session, meeting, ReminderRule.MEETING_UPDATE, sorted(p for p in invited if seen[p] < meeting.version), now
    )


def announce_changes(session: Session, process: Process, now: datetime) -> int:
    """Updates and cancellations for every meeting of `process` that changed since its participants were told."""
    meetings = session.exec(select(Meeting).where(Meeting.process_id == process.id)).all()
    announced = {meeting_id_of(occurrence) for _i, _p, _r, occurrence, _s in _meeting_rows(session, meetings)}
    return sum(queue_meeting_update(session, m, now) for m in meetings if m.id in announced)


def meeting_message(
    session: Session,
    row: Reminder,
    meeting: Meeting,
    process: Process,
    stage: Stage,
    person: Person,
    now: datetime,
    contacts: list[dict[str, str]],
) -> tuple[str, dict[str, Any], bytes | None, str]:
    """The message name, its template variables, its iTIP part and that part's METHOD, for one meeting row."""
    state = session.get(MemberState, person.member_state_code) if person.member_state_code else None
    zone, known, _country = locate(person, state, process.timezone)
    start, end = meeting_bounds(meeting)
    timed = meeting.start_time is not None and meeting.end_time is not None
    if timed:
        when_meeting, when_local = span_text(start, end, meeting.timezone), span_text(start, end, zone)
    else:
        last = meeting.end_day
        when_meeting = (
            long_date(meeting.day) if last == meeting.day else f"{long_date(meeting.day)} to {long_date(last)}"
        )
        when_local = when_meeting
    settings = get_settings()
    secretariat = contacts[0] if contacts else {"name": "Secretariat", "email": settings.mail_from}
    ctx: dict[str, Any] = {
        "process": {"short_name": process.short_name, "title": process.title, "timezone": process.timezone},
        "stage": {"key": stage.key, "name": stage.name, "activity": stage.activity},
        "meeting": {
            "title": meeting.title,
            "day": meeting.day,
            "location": meeting.location,
            "virtual": meeting.virtual,
            "tentative": meeting.tentative,
            "timezone": meeting.timezone,
            "online_link": meeting.online_link,  # secret: invitations and personal feeds only
            "dial_in": meeting.dial_in,
        },
        "recipient": {"name": person.name, "email": person.email},
        "when_meeting": when_meeting,
        "when_local": when_local,
        "zone": zone,
        "zone_known": known,
        "same_zone": zone == meeting.timezone or not timed,
        "contacts": contacts,
        "soon": row.rule is ReminderRule.MEETING_SOON,
        "late": False,
        "days_before": (meeting.day - now.astimezone(ZoneInfo(meeting.timezone)).date()).days,
    }
    name = MESSAGE_OF_RULE.get(row.rule, "meeting_reminder")
    if row.rule not in MESSAGE_OF_RULE:
        return name, ctx, None, "PUBLISH"
    method = "CANCEL" if row.rule is ReminderRule.MEETING_CANCELLED else "REQUEST"
    lines = [f"{stage.name} ({process.short_name})."]
    if timed:
        lines.append(f"Time: {when_meeting}.")
    if meeting.online_link:
        lines.append(f"Join online: {meeting.online_link}")
    elif meeting.virtual:
        lines.append("Online meeting.")
    if meeting.dial_in:
        lines.append(f"Dial-in: {meeting.dial_in}")
    lines += [
        f"{what}: {link}"
        for what, link in (("Agenda", meeting.agenda_link), ("Documents", meeting.documents_link))
        if link
    ]
    ics = meeting_itip(
        process=process,
        meeting=meeting,
        method=method,
        organizer=(secretariat["name"], secretariat["email"]),
        attendee=(person.name, person.email),
        description="\n".join(lines),
        stamp=now,
    )
    return name, ctx, ics, method


def invited_since(session: Session, meeting: Meeting) -> dict[int, datetime]:
    """The people invited to `meeting` (their invitation sent or on its way), and since when: its meeting
    reminders go to them, from then on."""
    assert meeting.id is not None
    low = meeting.id * MEETING_SPAN
    found: dict[int, datetime] = {}
    for person_id, send_at in select_rows(
        session,
        select_columns(col(Reminder.person_id), col(Reminder.send_at)).where(
            col(Reminder.rule) == ReminderRule.INVITATION,
            col(Reminder.stage_id) == meeting.stage_id,
            col(Reminder.occurrence).between(low, low + MEETING_SPAN - 1),
            col(Reminder.status).in_(list(LIVE)),
        ),
    ).all():
        found[person_id] = min(found.get(person_id, send_at), send_at)
    return found
