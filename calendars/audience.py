"""Who a stage or meeting concerns, for the member-State and personal feeds.

Calendars are broader than reminders: an alternate focal point is not reminded (they are the escalation
contact) but does see their member State's deadlines and meetings, since they stand in when the focal point
is away. Everyone sees what the owner they act for (models.enums.OWNER_OF_ROLE) acts in or attends.
"""

from __future__ import annotations

from models.enums import OWNER_OF_ROLE, Role


def concerns(owners: list[str], role: Role) -> bool:
    """Whether a stage or meeting of `owners` (the values stored in Stage.owners and Meeting.attendees) concerns
    a person of `role`; the member-State feeds ask for a focal point's."""
    return OWNER_OF_ROLE[role].value in owners
