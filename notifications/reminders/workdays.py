"""Working days and local sending times: a reminder goes out at a morning hour on a working day of the
recipient's country. A reminder before a deadline that falls on a weekend or public holiday there moves earlier
(never past the deadline); an overdue one moves later, so its repeats keep their spacing (planner.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import holidays

MAX_SHIFT_DAYS = 21
"""No country closes for longer than this; a longer run of closed days means the calendar data is wrong."""


@cache
def _calendar(country: str) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:
        return None


def is_working_day(day: date, country: str | None) -> bool:
    """Weekends and public holidays per the `holidays` package (including Russia's moved working Saturdays);
    a country it does not know works Monday to Friday."""
    calendar = _calendar(country) if country else None
    if calendar is None:
        return day.weekday() < 5
    return bool(calendar.is_working_day(day))


def working_day_on_or_before(day: date, country: str | None, *, not_before: date | None = None) -> date | None:
    """The latest working day at or before `day`; None when there is none on or after `not_before`."""
    for back in range(MAX_SHIFT_DAYS + 1):
        candidate = day - timedelta(days=back)
        if not_before is not None and candidate < not_before:
            return None
        if is_working_day(candidate, country):
            return candidate
    return day


def local_morning(day: date, zone: str, hour: int) -> datetime:
    """`hour`:00 on `day` in `zone`, as an aware UTC instant."""
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone)).astimezone(UTC)


@cache
def _zone_countries() -> dict[str, str]:
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _coords, zone, *_ = line.split("\t")
            found.setdefault(zone, code)
    return found


def country_of_zone(zone: str) -> str | None:
    """The country an IANA zone belongs to (Asia/Bangkok -> TH), for people the directory gives no country."""
    return _zone_countries().get(zone)
