"""How far a date may reach: one rule for every entry point (template validation, reschedules and their previews,
responses' received dates, decision dates), so that a slip of the keyboard (0001-01-01, 9999-12-31) is refused with
a message instead of being stored and breaking every calendar feed and reminder that meets it later.

Two bounds. A process's dates lie within YEARS_BEFORE years before its first stage starts and YEARS_AFTER years
after: consultations last months or a few years, and a plan that slips further is a new process. And every date
lies within EARLIEST..LATEST, whatever the process, so that a template whose stages are all in year 1 (or 9999)
is refused too, and whatever is stored can be rendered with room to spare (feeds add a year either side for their
time zones; reminders count days before and after a deadline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from models.errors import InvalidInput

if TYPE_CHECKING:
    from models.process import Stage

EARLIEST = date(1990, 1, 1)
LATEST = date(2100, 12, 31)
YEARS_BEFORE = 5
YEARS_AFTER = 15


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date
    whose: str
    """Whose dates these are, and why, in words: completes "... must lie between <first> and <last>"."""

    def why_not(self, day: date) -> str | None:
        """None when `day` is within the range; else why not: "too late: <whose> must lie between ..."."""
        if self.first <= day <= self.last:
            return None
        return (
            f"too {'early' if day < self.first else 'late'}: {self.whose} must lie between "
            f"{long_date(self.first)} and {long_date(self.last)}"
        )

    def problem(self, day: date) -> str | None:
        """The same, beginning with the date: "9999-12-31 is too late: ..." (for a file's field)."""
        why = self.why_not(day)
        return None if why is None else f"{day.isoformat()} is {why}"

    def check(self, day: date, what: str) -> date:
        """`day`, or InvalidInput naming the field: "the new end (9999-12-31) is too late: ..."."""
        why = self.why_not(day)
        if why is not None:
            raise InvalidInput(f"{what} ({day.isoformat()}) is {why}")
        return day


ANY_PROCESS = DateRange(EARLIEST, LATEST, "dates")


def plausible(day: date) -> bool:
    """Whether `day` is within the range every stored date must keep (what the feeds and reminders can render)."""
    return EARLIEST <= day <= LATEST


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def process_range(first_day: date) -> DateRange:
    """The dates of a process whose first stage starts on `first_day`. When that day is itself beyond reason
    (stored before this rule existed), only the absolute range applies, so the stage can be moved back to sane
    dates."""
    if not plausible(first_day):
        return ANY_PROCESS
    return DateRange(
        max(EARLIEST, _years_after(first_day, -YEARS_BEFORE)),
        min(LATEST, _years_after(first_day, YEARS_AFTER)),
        f"the dates of this process ({YEARS_BEFORE} years before its first stage, "
        f"{long_date(first_day)}, to {YEARS_AFTER} years after)",
    )


def range_of(stages: Sequence[Stage]) -> DateRange:
    """The range of the process these stages (all of them, as stored) belong to."""
    return process_range(min(s.start_date for s in stages)) if stages else ANY_PROCESS
