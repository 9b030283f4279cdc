"""The timeline as a Gantt chart: where each bar sits on the calendar axis, as percentages for plain CSS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models.limits import EARLIEST, LATEST
from models.process import Meeting
from models.status import ProcessStatus, StageRow


@dataclass(frozen=True)
class Month:
    label: str
    left: float
    width: float


@dataclass(frozen=True)
class Bar:
    row: StageRow
    left: float
    width: float
    due: float
    meetings: list[tuple[Meeting, float]]

    @property
    def css(self) -> str:
        """The state, and 'overdue'/'tentative': styles that also print a word, so colour is never the only cue."""
        classes = [f"state-{self.row.stage.state.value}"]
        if self.row.overdue:
            classes.append("overdue")
        if self.row.stage.tentative:
            classes.append("tentative")
        return " ".join(classes)


@dataclass(frozen=True)
class Gantt:
    start: date
    end: date
    months: list[Month]
    bars: list[Bar]
    today: float | None
    """Where the today line stands, or None when today is outside the axis."""


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def build_gantt(status: ProcessStatus, meetings: list[Meeting]) -> Gantt:
    stages = [r.stage for r in status.rows]
    # The axis never reaches beyond the dates a process may hold: a row stored before dates were bounded (year 1,
    # 9999) is drawn at the edge instead of stretching the chart over millennia or past the calendar's end.
    first = max(EARLIEST, min([s.start_date for s in stages] + [status.today]))
    last = min(LATEST, max([s.end_date for s in stages] + [status.today]))
    start, end = _first_of_month(first), _next_month(last)
    span = (end - start).days

    def pos(day: date) -> float:
        return round(100 * (min(max(day, start), end) - start).days / span, 3)

    months = []
    cursor = start
    while cursor < end:
        following = _next_month(cursor)
        months.append(
            Month(
                cursor.strftime("%b %Y") if cursor.month == 1 or cursor == start else cursor.strftime("%b"),
                pos(cursor),
                round(100 * (following - cursor).days / span, 3),
            )
        )
        cursor = following
    by_stage: dict[int, list[Meeting]] = {}
    for meeting in meetings:
        by_stage.setdefault(meeting.stage_id, []).append(meeting)
    bars = []
    for row in status.rows:
        s = row.stage
        left = pos(s.start_date)
        shown = (min(s.end_date, end) - max(s.start_date, start)).days + 1
        width = max(round(100 * shown / span, 3), 0.6)
        bars.append(
            Bar(
                row,
                left,
                width,
                pos(s.due_date + timedelta(days=1)) if s.due_date < LATEST else 100.0,
                [(m, pos(m.day)) for m in by_stage.get(s.id or 0, [])],
            )
        )
    today = pos(status.today) + 0.5 * 100 / span if start <= status.today < end else None
    return Gantt(start, end, months, bars, today)
