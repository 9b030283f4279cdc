"""A VTIMEZONE from the IANA data, written the way every client reads it: one observance per offset change. Used
by the feeds (calendars/) and the invitations (notifications/mail/ics.py).

icalendar's `Timezone.from_tzinfo` (7.3) groups onsets into comma-separated RDATE lists and writes the onset of
daylight time in the new offset, not the old one. vobject (dateutil, as Outlook reads a VTIMEZONE) and Mozilla's
ical.js (Thunderbird) then put summer events of zones with daylight saving an hour off, which no test of a zone
without DST shows. Here each change of offset is its own STANDARD or DAYLIGHT component whose DTSTART is the
local time just before the change (RFC 5545 3.8.3: DTSTART is in the TZOFFSETFROM time), with no RDATE or RRULE
to expand: all four parsers the tests use agree with the zone database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

_STEP = timedelta(hours=6)
"""Offsets change at most a few times a year; two changes less than six hours apart do not occur."""


def _offset(zone: tzinfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _change_within(zone: tzinfo, before: datetime, after: datetime) -> datetime:
    """The first instant (to the second) in (before, after] whose offset differs from the one at `before`."""
    old = _offset(zone, before)
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if _offset(zone, middle) == old:
            before = middle
        else:
            after = middle
    return after.replace(microsecond=0)


def _observance(zone: tzinfo, onset: datetime, offset_from: timedelta) -> TimezoneStandard | TimezoneDaylight:
    local = onset.astimezone(zone)
    component = TimezoneDaylight() if local.dst() else TimezoneStandard()
    component.add("dtstart", (onset + offset_from).replace(tzinfo=None))
    component.add("tzoffsetfrom", offset_from)
    component.add("tzoffsetto", local.utcoffset())
    component.add("tzname", local.tzname())
    return component


@lru_cache(maxsize=64)
def vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """The zone from `first` to `last` (local days). Built once per span; callers treat it as read-only."""
    zone = ZoneInfo(tzid)
    moment = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last, time(0), zone).astimezone(UTC)
    component = Timezone()
    component.add("tzid", tzid)
    component.add("comment", f"{tzid} from the IANA time zone database, valid {first} to {last}.")
    component.add_component(_observance(zone, moment, _offset(zone, moment)))
    while moment < end:
        following = min(moment + _STEP, end)
        if _offset(zone, following) != _offset(zone, moment):
            onset = _change_within(zone, moment, following)
            component.add_component(_observance(zone, onset, _offset(zone, moment)))
        moment = following
    return component
