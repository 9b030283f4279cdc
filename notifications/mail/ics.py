"""The deadline as an iCalendar attachment: a one-hour entry that ends when the deadline does (end of the due
day in the process's zone), so every calendar shows it at the right local moment.

Its times are in UTC: a single instant needs no VTIMEZONE, and a client that misreads one (comma-separated RDATEs,
daylight onsets) cannot misplace it; the description names the process's zone. The bytes depend only on the
stage's version and deadline, so every recipient of a stage shares one rendering.

Its UID and SEQUENCE are those of the stage's deadline event in the feeds (models/calendar_ids.py): a client that
imported it and subscribes to a feed holds one entry, and a later reminder's attachment (after a reschedule, a
higher SEQUENCE) moves that entry instead of adding another."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from models import calendar_ids
from models.enums import MeetingStatus
from models.process import Meeting, Process, Stage
from models.queries import deadline_at, meeting_bounds
from models.vtimezone import vtimezone


@lru_cache(maxsize=256)
def _render(
    process_key: str,
    short_name: str,
    zone: str,
    stage_key: str,
    name: str,
    activity: str,
    due: date,
    end: datetime,
    version: int,
    stamp: datetime,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//consultrack//reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    # The deadline event's UID in the feeds: one entry in the client, whichever way it came.
    event.add("uid", calendar_ids.uid(process_key, calendar_ids.DEADLINE, stage_key))
    event.add("sequence", calendar_ids.sequence(version))
    event.add("dtstamp", stamp)
    event.add("dtstart", (end - timedelta(hours=1)).astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", f"Deadline: {name} ({short_name})")
    event.add("description", f"{activity}\nDue by the end of {due:%d %B %Y} ({zone}).")
    event.add("transp", "TRANSPARENT")
    calendar.add_component(event)
    return calendar.to_ical()


def deadline_ics(process: Process, stage: Stage) -> bytes:
    end = deadline_at(stage, process).astimezone(ZoneInfo(process.timezone))
    return _render(
        process.key,
        process.short_name,
        process.timezone,
        stage.key,
        stage.name,
        stage.activity,
        stage.due_date,
        end,
        stage.version,
        stage.modified_at,
    )


def meeting_itip(
    *,
    process: Process,
    meeting: Meeting,
    method: str,
    organizer: tuple[str, str],
    attendee: tuple[str, str],
    description: str,
    stamp: datetime,
) -> bytes:
    """An iTIP message (RFC 5546) about `meeting` for one attendee: METHOD REQUEST (an invitation, or an update of
    it) or CANCEL. UID and SEQUENCE are those of the meeting's event in the feeds (models/calendar_ids.py), so the
    entry a client makes from it is the one the feed updates, and a later update or cancellation replaces it.
    A timed meeting is given in its own zone, with that zone's VTIMEZONE; an all-day one as dates."""
    assert method in ("REQUEST", "CANCEL")
    calendar = Calendar()
    calendar.add("prodid", "-//consultrack//meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", calendar_ids.uid(process.key, calendar_ids.MEETING, meeting.key))
    event.add("sequence", calendar_ids.sequence(meeting.version))
    event.add("dtstamp", stamp.astimezone(UTC))
    start, end = meeting_bounds(meeting)
    if meeting.start_time is None or meeting.end_time is None:
        event.add("dtstart", meeting.day)
        event.add("dtend", meeting.end_day + timedelta(days=1))
    else:
        event.add("dtstart", start)
        event.add("dtend", end)
        calendar.add_component(
            vtimezone(meeting.timezone, start.date() - timedelta(days=1), end.date() + timedelta(days=1))
        )
    cancelled = method == "CANCEL" or meeting.status is MeetingStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else ("TENTATIVE" if meeting.tentative else "CONFIRMED"))
    event.add("summary", f"Cancelled: {meeting.title}" if cancelled else meeting.title)
    if meeting.location:
        event.add("location", meeting.location)
    event.add("description", description)
    event.add("organizer", f"mailto:{organizer[1]}", parameters={"CN": organizer[0]})
    event.add(
        "attendee",
        f"mailto:{attendee[1]}",
        parameters={"CN": attendee[0], "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"},
    )
    event.add("transp", "OPAQUE")
    event.add("categories", ["Meeting"])
    calendar.add_component(event)
    return calendar.to_ical()
