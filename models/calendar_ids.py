"""What names an entry in a calendar: one rule for the feeds (calendars/) and the e-mails (notifications/), so a
client that imported an invitation or a reminder's deadline.ics and also subscribes to a feed holds one entry,
which every later change updates in place.

- UID names what the entry is (process, kind, key): a reschedule or a rename keeps it;
- SEQUENCE is the row's version (every change bumps it), counted from 0."""

from __future__ import annotations

UID_DOMAIN = "consultrack"

STAGE, DEADLINE, MEETING = "stage", "deadline", "meeting"
"""The kinds of entry."""


def uid(process_key: str, kind: str, key: str) -> str:
    return f"{process_key}.{kind}.{key}@{UID_DOMAIN}"


def sequence(version: int) -> int:
    """The iCalendar SEQUENCE of a row at `version` (rows start at version 1, SEQUENCE at 0)."""
    return version - 1
