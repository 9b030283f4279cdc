"""The closed vocabularies of the domain."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SECRETARIAT = "secretariat"
    FOCAL_POINT = "focal_point"
    ALTERNATE_FOCAL_POINT = "alternate_focal_point"
    STAKEHOLDER = "stakeholder"
    SOM_DELEGATE = "som_delegate"


ROLE_WORDS: dict[Role, tuple[str, str]] = {
    Role.FOCAL_POINT: ("focal point", "focal points"),
    Role.ALTERNATE_FOCAL_POINT: ("alternate focal point", "alternate focal points"),
    Role.SECRETARIAT: ("member of the secretariat", "members of the secretariat"),
    Role.STAKEHOLDER: ("stakeholder", "stakeholders"),
    Role.SOM_DELEGATE: ("SOM delegate", "SOM delegates"),
}
"""A role as people say it, one and many (pages, previews)."""


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


class MeetingKind(StrEnum):
    """What a meeting is, as the secretariat calls it (`MEETING_KIND_WORDS`)."""

    NFP_MEETING = "nfp_meeting"
    SOM = "som"
    EXPERT_GROUP = "expert_group"
    CONSULTATION = "consultation"


MEETING_KIND_WORDS = {
    MeetingKind.NFP_MEETING: "National Focal Points meeting",
    MeetingKind.SOM: "Senior Officials Meeting",
    MeetingKind.EXPERT_GROUP: "expert group meeting",
    MeetingKind.CONSULTATION: "consultation",
}


class Attendance(StrEnum):
    """A member State at a meeting, as the secretariat records it."""

    REGISTERED = "registered"
    ATTENDED = "attended"
    APOLOGIES = "apologies"


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
    INVITATION = "meeting_invitation"
    MEETING_UPDATE = "meeting_update"
    MEETING_CANCELLED = "meeting_cancelled"
    MEETING_BEFORE = "meeting_before"
    """A meeting reminder to an invited participant, `days` before (7, 1) in their local morning."""
    MEETING_SOON = "meeting_soon"
    """"Starts in one hour", for an online meeting."""

    NOTICE = "change_notice"
    """Told once, at the next sweep: a deadline moved, a stage skipped or completed early, or started in error
    (notifications/reminders/notices.py); the kind is in the row's details."""


MEETING_MAIL_RULES = frozenset({ReminderRule.INVITATION, ReminderRule.MEETING_UPDATE, ReminderRule.MEETING_CANCELLED})
"""Rows queued once by an act of the secretariat (notifications/reminders/invitations.py), never re-planned."""
MEETING_REMINDER_RULES = frozenset({ReminderRule.MEETING_BEFORE, ReminderRule.MEETING_SOON})
"""Rows the planner derives from a meeting and its invitations."""
MEETING_RULES = MEETING_MAIL_RULES | MEETING_REMINDER_RULES


class Ask(StrEnum):
    """What a stage asks of an owner (its template's reminder policy, `asks`)."""

    RESPONSE = "response"
    """A written response by the deadline: response reminders (as before)."""
    ATTENDANCE = "attendance"
    """Attendance at the stage's meeting: invitations and meeting reminders, no response reminders."""
    INFORMED = "informed"
    """Nothing: the start notice only."""


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
