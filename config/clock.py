"""The two clocks, each asked in one place.

The business clock (`now`, `today`) says what day it is for deadlines, reminders and the demo: CONSULTRACK_NOW or
`frozen` make the whole system stand on any instant. The real clock (`real_now`) is for everything that protects
or coordinates (the sign-in throttle, login sessions, token expiry, claim leases, lock and retry timeouts, HTTP
dates): it follows the operating system whatever the business clock says, so a demo standing on a past day still
expires a lease or lets a throttled name sign in again. Tests move it on with `real_time_passed` instead of waiting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from config.settings import get_settings

_override: datetime | None = None
_real_ahead = timedelta(0)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"the clock needs a time zone: {moment.isoformat()}")
    return moment.astimezone(UTC)


def now() -> datetime:
    """The current instant, in UTC: an override, else CONSULTRACK_NOW, else the system clock."""
    if _override is not None:
        return _override
    configured = get_settings().now
    if configured is not None:
        return _aware(configured)
    return real_now()


def real_now() -> datetime:
    """The operating system's instant, in UTC: CONSULTRACK_NOW and `frozen` never move it."""
    return datetime.now(UTC) + _real_ahead


def today(tz: str) -> date:
    """The calendar date it is now in the zone `tz`."""
    return now().astimezone(ZoneInfo(tz)).date()


def set_now(moment: datetime | None) -> None:
    global _override
    _override = None if moment is None else _aware(moment)


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Stand on `moment` for the duration of the block (the demo's replay, tests)."""
    previous = _override
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)


@contextmanager
def real_time_passed(elapsed: timedelta) -> Iterator[None]:
    """For tests only: the real clock runs `elapsed` ahead for the block, as if that much time had gone by, so a
    sign-in window, a login session, a claim lease or a retry's backoff runs out without the test waiting."""
    global _real_ahead
    previous = _real_ahead
    _real_ahead = previous + elapsed
    try:
        yield
    finally:
        _real_ahead = previous
