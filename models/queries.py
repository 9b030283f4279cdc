"""Finding things by the names people use (process and stage keys), with errors that list what exists."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, TypeVar, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Select, func
from sqlmodel import Session, col, select

from models.db import DRY_RUN
from models.directory import MemberState, Person
from models.errors import NotFound
from models.process import Meeting, Process, Stage
from models.response import Response
from models.text import control_problem


def _impossible(key: str) -> bool:
    """A key or address with control characters names nothing stored (models/text.py refuses them on the way
    in), and PostgreSQL would fail on a NUL in the query: such a lookup is a miss without asking."""
    return control_problem(key) is not None


def get_process(session: Session, key: str) -> Process:
    process = None if _impossible(key) else session.exec(select(Process).where(Process.key == key)).first()
    if process is None:
        known = ", ".join(session.exec(select(Process.key).order_by(Process.key)).all()) or "none yet"
        raise NotFound(f"unknown process {key!r} (known: {known})")
    return process


def only_process(session: Session, key: str | None) -> Process:
    """The named process, or the only one there is when no name was given."""
    if key:
        return get_process(session, key)
    processes = session.exec(select(Process).order_by(col(Process.id))).all()
    if len(processes) == 1:
        return processes[0]
    if not processes:
        raise NotFound("no process yet: run 'consultrack init' or 'consultrack process create'")
    raise NotFound("several processes exist; name one with --process: " + ", ".join(p.key for p in processes))


def lock_process(session: Session, key: str) -> Process:
    """The process, its row locked until the transaction ends. Every state transition takes this lock first, so
    the transitions of one process are serialised and each sees what the previous one committed (two replicas
    completing two predecessors of one stage: the second sees the first's completion and starts the stage).
    On PostgreSQL this is SELECT ... FOR UPDATE; on SQLite the write transaction already holds the database's
    write lock (BEGIN IMMEDIATE, see models/db.py) and FOR UPDATE is not emitted.

    Rows are re-read under the lock (populate_existing): the stages and meetings of the process that this session
    loaded before, which would otherwise keep the values they had before the wait.

    A dry run (models.db.dry_run_session: the reschedule preview, rolled back) takes no lock: it must not make
    every transition of the process wait while it computes."""
    if session.info.get(DRY_RUN):
        return get_process(session, key)
    query = select(Process).where(Process.key == key).with_for_update().execution_options(populate_existing=True)
    process = None if _impossible(key) else session.exec(query).first()
    if process is None:
        return get_process(session, key)  # raises NotFound, listing the known processes
    held = {
        type(row)
        for row in session.identity_map.values()
        if isinstance(row, Stage | Meeting) and row.process_id == process.id
    }
    for table in held:
        session.exec(
            select(table).where(table.process_id == process.id).execution_options(populate_existing=True)
        ).all()
    return process


def stages_of(session: Session, process: Process) -> list[Stage]:
    return list(session.exec(select(Stage).where(Stage.process_id == process.id).order_by(col(Stage.position))).all())


def get_stage(session: Session, process: Process, key: str, *, for_update: bool = False) -> Stage:
    query = select(Stage).where(Stage.process_id == process.id, Stage.key == key)
    if for_update:
        # A lock is only worth the values read under it: refresh the row if this session already held it.
        query = query.with_for_update().execution_options(populate_existing=True)
    stage = None if _impossible(key) else session.exec(query).first()
    if stage is None:
        known = ", ".join(s.key for s in stages_of(session, process))
        raise NotFound(f"unknown stage {key!r} in {process.key} (stages: {known})")
    return stage


def meetings_of(session: Session, process: Process) -> list[Meeting]:
    query = select(Meeting).where(Meeting.process_id == process.id).order_by(col(Meeting.day), col(Meeting.start_time))
    return list(session.exec(query).all())


def get_meeting(session: Session, process: Process, key: str, *, for_update: bool = False) -> Meeting:
    query = select(Meeting).where(Meeting.process_id == process.id, Meeting.key == key)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    meeting = None if _impossible(key) else session.exec(query).first()
    if meeting is None:
        known = ", ".join(m.key for m in meetings_of(session, process)) or "none"
        raise NotFound(f"unknown meeting {key!r} in {process.key} (meetings: {known})")
    return meeting


def member_states(session: Session) -> list[MemberState]:
    return list(session.exec(select(MemberState).order_by(MemberState.name)).all())


def get_member_state(session: Session, code_or_name: str) -> MemberState:
    wanted = code_or_name.strip()
    for state in member_states(session):
        if wanted.upper() == state.code or wanted.casefold() == state.name.casefold():
            return state
    known = ", ".join(f"{s.code} ({s.name})" for s in member_states(session))
    raise NotFound(f"unknown member State {code_or_name!r} (known: {known})")


def get_person(session: Session, email: str) -> Person:
    wanted = email.strip().lower()
    person = (
        None
        if _impossible(wanted)
        else session.exec(
            select(Person)
            .where(func.lower(Person.email) == wanted)
            .order_by(col(Person.email) != wanted, col(Person.id))
        ).first()
    )
    if person is None:
        raise NotFound(f"nobody with the e-mail address {email!r} is in the directory")
    return person


def deadline_at(stage: Stage, process: Process) -> datetime:
    """A deadline ends with its day in the process's time zone: the first instant after it, in UTC (for a day
    stored before dates were bounded, at the end of the calendar: never)."""
    if stage.due_date == date.max:
        return datetime.max.replace(tzinfo=UTC)
    zone = ZoneInfo(process.timezone)
    return datetime.combine(stage.due_date + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def meeting_bounds(meeting: Meeting) -> tuple[datetime, datetime]:
    """Start and end of a meeting as aware datetimes in the meeting's own zone (all-day: whole days)."""
    zone = ZoneInfo(meeting.timezone)
    if meeting.start_time is None or meeting.end_time is None:
        start = datetime.combine(meeting.day, time(0), tzinfo=zone)
        end = datetime.combine(meeting.end_day + timedelta(days=1), time(0), tzinfo=zone)
    else:
        start = datetime.combine(meeting.day, meeting.start_time, tzinfo=zone)
        end = datetime.combine(meeting.end_day, meeting.end_time, tzinfo=zone)
    return start, end


def responded_codes(session: Session, stage: Stage) -> set[str]:
    """The codes of the member States that responded to `stage`."""
    return set(session.exec(select(Response.member_state_code).where(Response.stage_id == stage.id)).all())


class _Stored(Protocol):
    id: int | None


RowT = TypeVar("RowT", bound=_Stored)
Columns = TypeVarTuple("Columns")


def by_id(rows: Iterable[RowT]) -> dict[int, RowT]:
    """Stored rows by their id (typed optional, since a row has none until it is stored; these all have one)."""
    return {row.id: row for row in rows if row.id is not None}


def select_rows(session: Session, statement: Select[*Columns]) -> CursorResult[*Columns]:
    """The rows of a SQLAlchemy select of more columns than sqlmodel's `select` is typed for (four): flushed
    first, as `Session.exec` does, then run on the session's connection, in its transaction."""
    session.flush()
    return session.connection().execute(statement)
