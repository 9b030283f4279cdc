"""Who a stage or meeting concerns, for the member-State and personal feeds.

Calendars are broader than reminders: an alternate focal point is not reminded (they are the escalation
contact) but does see their member State's deadlines and meetings, since they stand in when the focal point
is away. Everyone sees what the owner they act for (models.enums.OWNER_OF_ROLE) acts in or attends.
"""

from __future__ import annotations

from models.enums import OWNER_OF_ROLE, Owner, Role


def concerns(owners: list[str], role: Role) -> bool:
    """`owners`: the values stored in Stage.owners and Meeting.attendees."""
    return OWNER_OF_ROLE[role].value in owners


def concerns_member_states(owners: list[str]) -> bool:
    return Owner.MEMBER_STATES.value in owners
