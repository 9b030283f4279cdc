"""One VEVENT per thing a client must track: a stage's span, its deadline, a meeting.

Everything in an event derives from its row, never from the moment of rendering, so that every replica and every
request produce the same bytes for the same rows:
- UID and SEQUENCE follow models/calendar_ids.py, the rule the e-mails' calendar parts share: a reschedule or a
  rename updates the same event in place, SEQUENCE counts the row's versions from 0;
- DTSTAMP and LAST-MODIFIED are the row's modified_at (a feed without METHOD makes them equal, RFC 5545 3.8.7.2);
- STATUS is CANCELLED for a skipped stage or a cancelled meeting, TENTATIVE while dates are to be confirmed.
Summaries repeat the status in words, for clients that do not show STATUS (Google hides it).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Event

from models import calendar_ids
from models.enums import MeetingStatus, Owner, StageState
from models.process import Meeting, Process, Stage
from models.queries import deadline_at, meeting_bounds

UID_DOMAIN = calendar_ids.UID_DOMAIN
ALARM_BEFORE = timedelta(days=2, hours=15)
"""Before the start of the deadline's day (midnight, the reader's time): 09:00 three days before the due day."""

_OWNER_WORDS = {
    Owner.SECRETARIAT: "the secretariat",
    Owner.MEMBER_STATES: "member States (National Focal Points)",
    Owner.STAKEHOLDERS: "stakeholders",
    Owner.SOM: "the Senior Officials Meeting",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def uid(process: Process, kind: str, key: str) -> str:
    """The rule lives in models/calendar_ids.py: the e-mails' calendar parts use it too."""
    return calendar_ids.uid(process.key, kind, key)


def shown_text(value: str) -> str:
    """Keep newlines and tabs; drop other control characters, which no client shows and some parsers reject.
    The second line of defence: models/text.py refuses them on the way in, but rows stored before it may hold
    them."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def shown_line(value: str) -> str:
    """A name on one line (a calendar's name, a title): every control character, line breaks included, is a space."""
    return " ".join(_ANY_CONTROL.sub(" ", value).split())


def _stage_status(stage: Stage) -> str:
    if stage.state is StageState.SKIPPED:
        return "CANCELLED"
    return "TENTATIVE" if stage.tentative else "CONFIRMED"


def _meeting_status(meeting: Meeting) -> str:
    if meeting.status is MeetingStatus.CANCELLED:
        return "CANCELLED"
    return "TENTATIVE" if meeting.tentative else "CONFIRMED"


def _titled(title: str, status: str) -> str:
    if status == "CANCELLED":
        return f"Cancelled: {title}"
    return f"{title} (to be confirmed)" if status == "TENTATIVE" else title


def _base(process: Process, kind: str, key: str, row: Stage | Meeting, status: str, summary: str) -> Event:
    event = Event()
    event.add("uid", uid(process, kind, key))
    event.add("dtstamp", row.modified_at)
    event.add("last-modified", row.modified_at)
    event.add("sequence", calendar_ids.sequence(row.version))
    event.add("status", status)
    event.add("summary", shown_text(_titled(summary, status)))
    return event


def _all_day(event: Event, first: date, last: date) -> None:
    """All-day values end on the day after the last day (DTEND is exclusive)."""
    event.add("dtstart", first)
    event.add("dtend", last + timedelta(days=1))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def _owners(stage: Stage) -> str:
    return ", ".join(_OWNER_WORDS[o] for o in stage.who_acts)


def stage_span(process: Process, stage: Stage) -> Event:
    status = _stage_status(stage)
    event = _base(process, "stage", stage.key, stage, status, f"{process.short_name}: {stage.name}")
    _all_day(event, stage.start_date, stage.end_date)
    lines = [_sentence(stage.activity), f"Who acts: {_owners(stage)}.", f"Deadline: {stage.due_date:%d %B %Y}."]
    if stage.tentative and stage.tentative_note:
        lines.append(f"To be confirmed: {stage.tentative_note}")
    lines.append(f"Process: {process.title}.")
    event.add("description", shown_text("\n".join(lines)))
    event.add("transp", "TRANSPARENT")  # a weeks-long span must not mark anyone busy
    event.add("categories", ["Stage"])
    return event


def deadline(process: Process, stage: Stage, *, reader_zone: str | None = None, alarm: bool = False) -> Event:
    """The due day as an all-day event; `reader_zone` adds when the deadline falls on the reader's clock."""
    status = _stage_status(stage)
    event = _base(process, "deadline", stage.key, stage, status, f"Deadline: {stage.name} ({process.short_name})")
    _all_day(event, stage.due_date, stage.due_date)
    ends = deadline_at(stage, process)
    lines = [
        _sentence(stage.activity),
        f"Who acts: {_owners(stage)}.",
        f"Due by the end of {stage.due_date:%d %B %Y}, {process.timezone} time.",
    ]
    if reader_zone and reader_zone != process.timezone:
        local = ends.astimezone(ZoneInfo(reader_zone))
        lines.append(f"That is {local:%H:%M} on {local:%d %B %Y} in {reader_zone}.")
    if stage.tentative and stage.tentative_note:
        lines.append(f"To be confirmed: {stage.tentative_note}")
    event.add("description", shown_text("\n".join(lines)))
    event.add("transp", "TRANSPARENT")
    event.add("categories", ["Deadline"])
    if alarm and stage.is_open:
        reminder = Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", shown_text(f"In three days: {stage.name} ({process.short_name})"))
        reminder.add("trigger", -ALARM_BEFORE)
        event.add_component(reminder)
    return event


def meeting_event(process: Process, meeting: Meeting, stage: Stage | None, *, joining: bool = False) -> Event:
    """`joining`: the online link and the dial-in, which are secret: only a personal feed (and an invitation)
    passes it; the public and member-State feeds never do."""
    status = _meeting_status(meeting)
    event = _base(process, "meeting", meeting.key, meeting, status, meeting.title)
    if meeting.start_time is None or meeting.end_time is None:
        _all_day(event, meeting.day, meeting.end_day)
        when = None
    else:
        start, end = meeting_bounds(meeting)
        event.add("dtstart", start)
        event.add("dtend", end)
        when = f"{start:%H:%M}-{end:%H:%M} {meeting.timezone} (UTC{start:%z})."
    if meeting.location:
        event.add("location", shown_text(meeting.location))
    lines = ["Virtual meeting."] if meeting.virtual else []
    if when:
        lines.append(f"Time: {when}")
    if meeting.tentative and meeting.status is MeetingStatus.SCHEDULED:
        lines.append("The date is to be confirmed.")
    if joining and meeting.online_link:
        lines.append(f"Join online: {meeting.online_link}")
    if joining and meeting.dial_in:
        lines.append(f"Dial-in: {meeting.dial_in}")
    if meeting.agenda_link:
        lines.append(f"Agenda: {meeting.agenda_link}")
    if meeting.documents_link:
        lines.append(f"Documents: {meeting.documents_link}")
    lines.append(f"Process: {process.title}.")
    if stage is not None:
        lines.append(f"Stage: {stage.name}.")
    event.add("description", shown_text("\n".join(lines)))
    event.add("transp", "OPAQUE")
    event.add("categories", ["Meeting"])
    return event


def is_cancelled(row: Stage | Meeting) -> bool:
    if isinstance(row, Stage):
        return row.state is StageState.SKIPPED
    return row.status is MeetingStatus.CANCELLED
