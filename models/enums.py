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


class ReminderRule(StrEnum):
    """Why a reminder row exists; the value is what `Reminder.rule` stores."""

    START = "stage_started"
    BEFORE = "before"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    DIGEST = "digest"
    NOTICE = "change_notice"
    """Told once, at the next sweep: a deadline moved, a stage skipped or completed early, or started in error
    (notifications/reminders/notices.py); the kind is in the row's details."""


OWNER_OF_ROLE: dict[Role, Owner] = {
    Role.SECRETARIAT: Owner.SECRETARIAT,
    Role.FOCAL_POINT: Owner.MEMBER_STATES,
    Role.ALTERNATE_FOCAL_POINT: Owner.MEMBER_STATES,
    Role.STAKEHOLDER: Owner.STAKEHOLDERS,
    Role.SOM_DELEGATE: Owner.SOM,
}
"""The owner a person of each role acts for. An alternate focal point acts for their member State too: the
escalation contact of reminders, and a reader of its deadlines in the calendars (they stand in for the focal
point who is away); the first-line contacts of each owner are chosen in notifications/reminders/recipients.py."""
