"""Rescheduling: move one stage and push the stages that depend on it (finish-to-start), previewed first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from models import limits
from models.audit import record
from models.enums import StageState
from models.errors import InvalidInput, TransitionRefused
from models.lifecycle import snapshot, touch
from models.process import Meeting, Process
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


@dataclass
class ReschedulePlan:
    process_key: str
    stage_key: str
    stages: list[StageMove] = field(default_factory=list)
    meetings: list[MeetingMove] = field(default_factory=list)

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
) -> ReschedulePlan:
    """What would move, computed without writing anything. Every date it would store is within the process's
    range (models/limits.py): the dates asked for first, then those of the stages pushed along."""
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
        if dep.end_date > new_start and dep.state is not StageState.COMPLETED:
            raise InvalidInput(
                f"{target.key} cannot start {new_start}: it depends on {dep.key}, which ends {dep.end_date}"
            )

    windows: dict[str, tuple[date, date, date]] = {s.key: (s.start_date, s.end_date, s.due_date) for s in stages}
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
        earliest_start = latest + timedelta(days=1)
        if stage.start_date >= earliest_start:
            continue
        delta = earliest_start - stage.start_date
        try:
            moved = (stage.start_date + delta, stage.end_date + delta, stage.due_date + delta)
        except OverflowError:  # a row stored before the dates were bounded
            raise InvalidInput(f"{stage.name} would move {delta.days} days, past any date") from None
        if (why := allowed.why_not(moved[1])) is not None:
            raise InvalidInput(f"{stage.name} would follow and end on {moved[1].isoformat()}, which is {why}")
        windows[stage.key] = moved
        blocker = max(stage.depends_on, key=lambda k: windows[k][1])
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
    moved_by = {m.key: m.new_start - m.old_start for m in plan.stages}
    by_id = {s.id: s.key for s in stages}
    for meeting in session.exec(select(Meeting).where(Meeting.process_id == process.id)).all():
        stage_key = by_id[meeting.stage_id]
        if stage_key not in moved_by:
            continue
        new_start, new_end, _ = windows[stage_key]
        # A meeting's date was agreed with the member States: it stays while it is inside its stage's new
        # window, and otherwise moves with the stage (into the window, onto a weekday).
        if not new_start <= meeting.day <= new_end:
            day = min(max(meeting.day + moved_by[stage_key], new_start), new_end)
            plan.meetings.append(
                MeetingMove(meeting.key, meeting.title, meeting.day, _weekday_within(day, new_start, new_end))
            )
    return plan


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
) -> ReschedulePlan:
    if not reason or not reason.strip():
        raise InvalidInput("a reason to reschedule is required")
    check_plain(reason, "the reason to reschedule", multiline=True)
    process = lock_process(session, process_key)  # the target and every successor it moves, at once
    get_stage(session, process, stage_key, for_update=True)
    plan = plan_reschedule(session, process, stage_key, start=start, end=end, due=due, confirm=confirm)
    if plan.empty:
        raise InvalidInput(f"nothing changes: {stage_key} already has these dates")
    by_key = {s.key: s for s in stages_of(session, process)}
    for move in plan.stages:
        stage = by_key[move.key]
        before = snapshot(stage)
        stage.start_date, stage.end_date, stage.due_date = move.new_start, move.new_end, move.new_due
        if move.confirms:
            stage.tentative, stage.tentative_note = False, None
        touch(stage, now)
        record(
            session,
            at=now,
            actor=actor,
            action="stage.reschedule",
            process_key=process.key,
            stage_key=stage.key,
            before=before,
            after=snapshot(stage),
            reason=reason if move.key == stage_key else f"{move.because} ({reason})",
        )
    meetings = {m.key: m for m in session.exec(select(Meeting).where(Meeting.process_id == process.id)).all()}
    for mmove in plan.meetings:
        meeting = meetings[mmove.key]
        length = meeting.end_day - meeting.day
        meeting.day, meeting.end_day = mmove.new_day, mmove.new_day + length
        touch(meeting, now)
        record(
            session,
            at=now,
            actor=actor,
            action="meeting.reschedule",
            process_key=process.key,
            stage_key=meeting.key,
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
