"""The reminder plan of one stage for one recipient, as a pure function of the stage, the process, the person's
zone and country and the policy: no database, so every rule of the plan is checked in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime

from models.directory import Person
from models.enums import Owner, Role
from models.template import ReminderPolicy
from notifications.reminders.planner import plan_escalations, plan_for
from notifications.reminders.recipients import Recipient
from tests.rows import PROCESS, STARTED, stage_row

STAGE = stage_row()
TOKYO = Recipient(
    Person(id=7, name="Ken Sato", email="ken@example.org", role=Role.FOCAL_POINT, member_state_code="JP"),
    Owner.MEMBER_STATES,
    None,
    "Asia/Tokyo",
    True,
    "JP",
)


def utc(day: int, month: int = 3, hour: int = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def plan(who: Recipient = TOKYO, **policy: object) -> list[tuple[str, int, datetime]]:
    return [
        (p.rule, p.occurrence, p.send_at)
        for p in plan_for(STAGE, PROCESS, who, ReminderPolicy.model_validate(policy), hour=9)
    ]


def test_the_default_plan_of_one_stage() -> None:
    """The start notice, 14/7/2/0 days before at 09:00 in Tokyo (00:00 UTC), the Saturday moved to Friday, then
    three overdue repeats every 3 days, the Sunday moved on to the Monday and the next kept 3 days after it."""
    deadline = utc(31, hour=15)  # the end of 31 March in Seoul
    assert plan() == [
        ("stage_started", 0, STARTED),
        ("before", 14, utc(17)),
        ("before", 7, utc(24)),
        ("before", 2, utc(28)),
        ("before", 0, utc(31)),
        ("overdue", 1, max(utc(3, 4), deadline)),
        ("overdue", 2, utc(7, 4)),
        ("overdue", 3, utc(10, 4)),
    ]


def test_a_reminder_due_before_the_start_is_not_planned() -> None:
    assert [occurrence for rule, occurrence, _ in plan(before_days=[60, 7]) if rule == "before"] == [7]


def test_a_public_holiday_moves_the_reminder_earlier_in_the_recipients_country() -> None:
    """20 March 2025 is Japan's Vernal Equinox Day: 11 days before the deadline becomes the 19th in Tokyo, while
    a recipient in Ulaanbaatar, where it is a working day, keeps the 20th (at 09:00 there, 01:00 UTC)."""
    ulaanbaatar = Recipient(TOKYO.person, Owner.MEMBER_STATES, None, "Asia/Ulaanbaatar", True, "MN")
    assert [s for r, _, s in plan(before_days=[11], on_start=False, overdue_max=0)] == [utc(19)]
    assert [s for r, _, s in plan(ulaanbaatar, before_days=[11], on_start=False, overdue_max=0)] == [utc(20, hour=1)]


def test_escalations_follow_the_overdue_reminders_after_the_threshold() -> None:
    policy = ReminderPolicy(escalate_after=1, overdue_max=3)
    escalations = plan_escalations(STAGE, PROCESS, TOKYO, policy, 9, ["secretariat@example.org"])
    assert [(p.rule, p.occurrence, p.send_at, p.cc) for p in escalations] == [
        ("escalation", 2, utc(7, 4), ["secretariat@example.org"]),
        ("escalation", 3, utc(10, 4), ["secretariat@example.org"]),
    ]
