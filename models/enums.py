"""The closed vocabularies of the domain."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SECRETARIAT = "secretariat"
    FOCAL_POINT = "focal_point"
    ALTERNATE_FOCAL_POINT = "alternate_focal_point"
    STAKEHOLDER = "stakeholder"
    SOM_DELEGATE = "som_delegate"


class Owner(StrEnum):
    """Who acts in a stage. Member States act through their National Focal Points."""

    SECRETARIAT = "secretariat"
    MEMBER_STATES = "member_states"
    STAKEHOLDERS = "stakeholders"
    SOM = "som"


class StageState(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class GateKind(StrEnum):
    MANUAL = "manual"
    RESPONSES = "responses"
    MEETING_HELD = "meeting_held"
    DECISION_RECORDED = "decision_recorded"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class AccountRole(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


ROLE_OWNERS: dict[Owner, tuple[Role, ...]] = {
    Owner.SECRETARIAT: (Role.SECRETARIAT,),
    Owner.MEMBER_STATES: (Role.FOCAL_POINT,),
    Owner.STAKEHOLDERS: (Role.STAKEHOLDER,),
    Owner.SOM: (Role.SOM_DELEGATE,),
}
"""The people who act for an owner (the first line of contact; alternates are for escalation)."""
