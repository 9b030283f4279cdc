"""Who is addressed and where they read it: the rules that reminders and calendars share (neither may import the
other, so they live here, below both)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from models.directory import MemberState, Person
from models.enums import Role


def _valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def own_zone(person: Person, state: MemberState | None) -> str | None:
    """Where the person reads their mail and calendar: their own time zone, else their member State's; None when
    neither is known (or valid), and the process's zone stands in (`zone_of`)."""
    return _valid_zone(person.timezone) or _valid_zone(state.timezone if state else None)


def zone_of(person: Person, state: MemberState | None, process_zone: str) -> str:
    """The reader's time zone: their own, else their member State's, else the process's."""
    return own_zone(person, state) or process_zone


def active_people(session: Session, role: Role, member_state: str | None = None) -> list[Person]:
    """The active people of `role` (of one member State when given), in the order they were added."""
    query = select(Person).where(Person.role == role, col(Person.active))
    if member_state is not None:
        query = query.where(Person.member_state_code == member_state)
    return list(session.exec(query.order_by(col(Person.id))).all())


def active_secretariat(session: Session) -> list[Person]:
    """The members of the secretariat who act today: approvers, digest readers, the cc of escalations."""
    return active_people(session, Role.SECRETARIAT)
