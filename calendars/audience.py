"""Who a stage or meeting concerns, for the member-State and personal feeds.

Calendars are broader than reminders: an alternate focal point is not reminded (they are the escalation
contact) but does see their member State's deadlines and meetings, since they stand in when the focal point
is away. Everyone else sees what their role acts in or attends (models.enums.ROLE_OWNERS).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.directory import MemberState, Person
from models.enums import ROLE_OWNERS, Owner, Role

_STANDS_IN: dict[Role, Owner] = {Role.ALTERNATE_FOCAL_POINT: Owner.MEMBER_STATES}


def owners_of(role: Role) -> set[str]:
    """The owner values (as stored in Stage.owners and Meeting.attendees) a person of `role` acts for."""
    owners = {owner.value for owner, roles in ROLE_OWNERS.items() if role in roles}
    if role in _STANDS_IN:
        owners.add(_STANDS_IN[role].value)
    return owners


def concerns(owners: list[str], role: Role) -> bool:
    return not owners_of(role).isdisjoint(owners)


def concerns_member_states(owners: list[str]) -> bool:
    return Owner.MEMBER_STATES.value in owners


def zone_of(person: Person, state: MemberState | None, fallback: str) -> str:
    """Where the person reads their calendar: their own zone, else their member State's, else `fallback`."""
    for name in (person.timezone, state.timezone if state else None):
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return fallback
