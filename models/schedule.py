"""Rescheduling: move one stage and push the stages that depend on it (finish-to-start), previewed first."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from models import limits
from models.enums import MeetingStatus, StageState
from models.errors import InvalidInput, TransitionRefused
from models.lifecycle import changed, snapshot, touch
from models.process import Meeting, Process, Stage
from models.queries import get_stage, lock_process, stages_of
from models.text import check_plain


@dataclass(frozen=True)
class StageMove:
    key: str
    name: str
    old_start: date
    old_end: date
    old_due: date
    new_start: date
    new_end: date
    new_due: date
    because: str
    confirms: bool = False


@dataclass(frozen=True)
class MeetingMove:
    key: str
    title: str
    old_day: date
    new_day: date


@dataclass(frozen=True)
class AgreedMeeting:
    """An agreed meeting that the new window of its stage leaves outside: the secretariat keeps it or moves it."""

    key: str
    title: str
    day: date
    stage: str
    window: tuple[date, date]
    proposed: date
    """Where it would move, if moved."""
    moves: bool


@dataclass
class ReschedulePlan:
    process_key: str
    stage_key: str
    stages: list[StageMove] = field(default_factory=list)
    meetings: list[MeetingMove] = field(default_factory=list)
    agreed: list[AgreedMeeting] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """In people's words: a fixed stage run into, a tentative stage or a limit passed, an agreed meeting kept
    outside its stage's window."""

    @property
    def empty(self) -> bool:
        return not self.stages and not self.meetings


def plan_reschedule(
    session: Session,
    process: Process,
    stage_key: str,
    *,
    start: date | None = None,
    end: date | None = None,
    due: date | None = None,
    confirm: bool = False,
    move_meetings: Collection[str] = (),
    keep_meetings: Collection[str] = (),
) -> ReschedulePlan:
    """What would move, computed without writing anything. Every date it would store is within the process's
    range (models/limits.py): the dates asked for first, then those of the stages pushed along.

    Stages are finish-to-start, less a stage's `overlap_days`; a `fixed` stage is never pushed (a warning says
    what runs into it). An agreed meeting never moves unless its key is in `move_meetings`; each one left
    outside its stage's new window is listed in `agreed` (kept, or moved when asked)."""
    stages = stages_of(session, process)
    target = get_stage(session, process, stage_key)
    if target.state in (StageState.COMPLETED, StageState.SKIPPED):
        raise TransitionRefused(f"stage {target.key} is {target.state.value}; its dates are history")
    allowed = limits.range_of(stages)
    for day, what in ((start, "the new start"), (end, "the new end"), (due, "the new deadline")):
        if day is not None:
            allowed.check(day, what)
    new_start = start or target.start_date
    try:
        new_end = end or (target.end_date + (new_start - target.start_date) if start and not end else target.end_date)
        if new_end < new_start:
            raise InvalidInput(f"the new window ends ({new_end}) before it starts ({new_start})")
        if due is not None:
            new_due = due
        elif target.due_date == target.end_date:
            new_due = new_end
        else:
            new_due = min(max(target.due_date + (new_end - target.end_date), new_start), new_end)
    except OverflowError:  # stored dates beyond reason (from before they were bounded): no shift can follow them
        raise InvalidInput(
            f"{target.name} has dates beyond reason ({target.start_date}..{target.end_date}): "
            "give its new start, end and deadline"
        ) from None
    if not new_start <= new_due <= new_end:
        raise InvalidInput(f"the deadline {new_due} is outside the window {new_start}..{new_end}")
    allowed.check(new_start, f"the start of {target.name}")
    allowed.check(new_end, f"the new end of {target.name}")
    for dep_key in target.depends_on:
        dep = next(s for s in stages if s.key == dep_key)
        if dep.end_date - timedelta(days=target.overlap_days) > new_start and dep.state is not StageState.COMPLETED:
            raise InvalidInput(
                f"{target.key} cannot start {new_start}: it depends on {dep.key}, which ends {dep.end_date}"
            )

    windows: dict[str, tuple[date, date, date]] = {s.key: (s.start_date, s.end_date, s.due_date) for s in stages}
    names = {s.key: s.name for s in stages}
    windows[target.key] = (new_start, new_end, new_due)
    plan = ReschedulePlan(process.key, target.key)
    if (new_start, new_end, new_due) != (target.start_date, target.end_date, target.due_date) or (
        confirm and target.tentative
    ):
        plan.stages.append(
            StageMove(
                target.key,
                target.name,
                target.start_date,
                target.end_date,
                target.due_date,
                new_start,
                new_end,
                new_due,
                "rescheduled",
                confirm and target.tentative,
            )
        )
    for stage in stages:  # stored in dependency order: a stage's predecessors come before it
        if stage.key == target.key or stage.state in (StageState.COMPLETED, StageState.SKIPPED):
            continue
        if not stage.depends_on:
            continue
        latest = max(windows[k][1] for k in stage.depends_on)
        earliest_start = latest + timedelta(days=1 - stage.overlap_days)
        if stage.start_date >= earliest_start:
            continue
        blocker = max(stage.depends_on, key=lambda k: windows[k][1])
        if stage.fixed:
            plan.warnings.append(
                f"{stage.name} has fixed dates ({_span(stage.start_date, stage.end_date)}) and does not move: "
                f"{names[blocker]} would now end on {_day(latest)}, {(earliest_start - stage.start_date).days} "
                f"day(s) into it"
            )
            continue
        delta = earliest_start - stage.start_date
        try:
            moved = (stage.start_date + delta, stage.end_date + delta, stage.due_date + delta)
        except OverflowError:  # a row stored before the dates were bounded
            raise InvalidInput(f"{stage.name} would move {delta.days} days, past any date") from None
        if (why := allowed.why_not(moved[1])) is not None:
            raise InvalidInput(f"{stage.name} would follow and end on {moved[1].isoformat()}, which is {why}")
        windows[stage.key] = moved
        plan.stages.append(
            StageMove(
                stage.key,
                stage.name,
                stage.start_date,
                stage.end_date,
                stage.due_date,
                *moved,
                because=f"follows {blocker}",
            )
        )
    plan.warnings += _window_warnings(process, stages, plan)
    _plan_meetings(session, process, stages, windows, plan, set(move_meetings), set(keep_meetings))
    return plan


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _span(first: date, last: date) -> str:
    return _day(first) if first == last else f"{_day(first)} to {_day(last)}"


def _window_warnings(process: Process, stages: list[Stage], plan: ReschedulePlan) -> list[str]:
    """A tentative stage pushed past its window; a stage pushed past a limit of the process's template."""
    by_key = {s.key: s for s in stages}
    warnings = []
    for move in plan.stages:
        stage = by_key[move.key]
        if stage.tentative and not move.confirms and move.new_end > move.old_end:
            note = f" ({stage.tentative_note})" if stage.tentative_note else ""
            warnings.append(
                f"{stage.name} is tentative{note}: it would move past its window "
                f"({_span(move.old_start, move.old_end)}) to {_span(move.new_start, move.new_end)}"
            )
        for limit in process.limits:
            if limit.get("stages") and move.key not in limit["stages"]:
                continue
            by = date.fromisoformat(limit["date"])
            if move.new_end >= by > move.old_end:
                warnings.append(f"{stage.name} would end on {_day(move.new_end)}, after {limit['name']} ({_day(by)})")
    return warnings


def _plan_meetings(
    session: Session,
    process: Process,
    stages: list[Stage],
    windows: dict[str, tuple[date, date, date]],
    plan: ReschedulePlan,
    move: set[str],
    keep: set[str],
) -> None:
    """A meeting stays while it is inside its stage's new window. Outside it, an unagreed meeting moves with the
    stage (into the window, onto a weekday); an agreed one moves only when asked (`move`), else stays."""
    meetings = session.exec(select(Meeting).where(Meeting.process_id == process.id)).all()
    known = {m.key for m in meetings}
    for what, keys in (("the meetings to move", move), ("the meetings to keep", keep)):
        if unknown := sorted(keys - known):
            raise InvalidInput(f"{what}: {process.title} has no meeting {unknown[0]!r}")
    if both := sorted(move & keep):
        raise InvalidInput(f"the meetings to move and to keep both name {both[0]!r}: choose one")
    moved_by = {m.key: m.new_start - m.old_start for m in plan.stages}
    by_id = {s.id: s for s in stages}
    for meeting in meetings:
        stage = by_id[meeting.stage_id]
        if stage.key not in moved_by or meeting.status is MeetingStatus.CANCELLED:
            continue
        new_start, new_end, _ = windows[stage.key]
        if new_start <= meeting.day <= new_end:
            continue
        day = min(max(meeting.day + moved_by[stage.key], new_start), new_end)
        proposed = _weekday_within(day, new_start, new_end)
        if meeting.agreed:
            moves = meeting.key in move
            plan.agreed.append(
                AgreedMeeting(
                    meeting.key, meeting.title, meeting.day, stage.name, (new_start, new_end), proposed, moves
                )
            )
            if not moves:
                plan.warnings.append(
                    f"{meeting.title} on {_day(meeting.day)} was agreed and stays: it falls outside the new window "
                    f"of {stage.name} ({_span(new_start, new_end)}); moved, it would be on {_day(proposed)}"
                )
                continue
        plan.meetings.append(MeetingMove(meeting.key, meeting.title, meeting.day, proposed))


def _weekday_within(day: date, first: date, last: date) -> date:
    """`day`, or the weekday after it, or failing that (the window ends first) the weekday before it."""
    for candidate in (*(day + timedelta(days=n) for n in range(3)), *(day - timedelta(days=n) for n in range(1, 3))):
        if candidate.weekday() < 5 and first <= candidate <= last:
            return candidate
    return day


def apply_reschedule(
    session: Session,
    process_key: str,
    stage_key: str,
    *,
    actor: str,
    now: datetime,
    reason: str,
    start: date | None = None,
    end: date | None = None,
    due: date | None = None,
    confirm: bool = False,
    move_meetings: Collection[str] = (),
    keep_meetings: Collection[str] = (),
) -> ReschedulePlan:
    if not reason or not reason.strip():
        raise InvalidInput("a reason to reschedule is required")
    check_plain(reason, "the reason to reschedule", multiline=True)
    process = lock_process(session, process_key)  # the target and every successor it moves, at once
    get_stage(session, process, stage_key, for_update=True)
    plan = plan_reschedule(
        session,
        process,
        stage_key,
        start=start,
        end=end,
        due=due,
        confirm=confirm,
        move_meetings=move_meetings,
        keep_meetings=keep_meetings,
    )
    if plan.empty:
        raise InvalidInput(f"nothing changes: {stage_key} already has these dates")
    by_key = {s.key: s for s in stages_of(session, process)}
    for move in plan.stages:
        stage = by_key[move.key]
        before = snapshot(stage)
        stage.start_date, stage.end_date, stage.due_date = move.new_start, move.new_end, move.new_due
        if move.confirms:
            stage.tentative, stage.tentative_note = False, None
        changed(
            session,
            process,
            stage,
            actor=actor,
            now=now,
            action="stage.reschedule",
            before=before,
            after=snapshot(stage),
            reason=reason if move.key == stage_key else f"{move.because} ({reason})",
        )
    meetings = {m.key: m for m in session.exec(select(Meeting).where(Meeting.process_id == process.id)).all()}
    for mmove in plan.meetings:
        meeting = meetings[mmove.key]
        length = meeting.end_day - meeting.day
        meeting.day, meeting.end_day = mmove.new_day, mmove.new_day + length
        changed(
            session,
            process,
            meeting,
            actor=actor,
            now=now,
            action="meeting.reschedule",
            before={"day": mmove.old_day.isoformat()},
            after={"day": mmove.new_day.isoformat()},
            reason=reason,
        )
    confirmed = {by_key[m.key].id for m in plan.stages if m.confirms}
    for meeting in meetings.values():
        if meeting.stage_id in confirmed and meeting.tentative:
            meeting.tentative = False
            if meeting.key not in {m.key for m in plan.meetings}:
                touch(meeting, now)
    return plan
