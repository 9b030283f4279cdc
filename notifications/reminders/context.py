"""What a reminder says, computed when it is sent (not when it was planned): days left, who still owes, the
deadline in the recipient's own time. A row planned as "7 days" that goes out late says how many days are left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from config.settings import get_settings
from models import limits
from models.audience import active_secretariat
from models.directory import MemberState, Person
from models.enums import (
    MEETING_MAIL_RULES,
    MEETING_RULES,
    OWNER_OF_ROLE,
    MeetingStatus,
    Owner,
    ReminderRule,
    ReminderStatus,
    Role,
    StageState,
)
from models.process import Meeting, Process, Stage
from models.queries import by_id, deadline_at
from models.reminder import Reminder, meeting_id_of
from models.response import Response
from notifications.mail.render import RenderError, days_text, deadline_text, long_date
from notifications.reminders.recipients import GateAt, gate_met_reason, gated, locate, why_not_owed

MESSAGE_OF_RULE = {
    ReminderRule.START: "stage_started",
    ReminderRule.BEFORE: "reminder",
    ReminderRule.OVERDUE: "reminder",
    ReminderRule.ESCALATION: "escalation",
    ReminderRule.DIGEST: "digest",
    ReminderRule.NOTICE: "change_notice",
}
"""The message (notifications/mail/templates) each rule sends."""

TASKS = {
    Owner.MEMBER_STATES: "Send the response of {state} to the secretariat (a reply to this e-mail is enough).",
    Owner.SECRETARIAT: "Complete this stage and record it in the tracker: consultrack stage advance {key}",
    Owner.STAKEHOLDERS: "Send your comments to the secretariat (a reply to this e-mail is enough).",
    Owner.SOM: "Take part as a delegate to the Senior Officials Meeting; the secretariat shares the documents.",
}


@dataclass
class World:
    """Everything a batch of rows needs, loaded with a handful of queries instead of a few per row."""

    stages: dict[int, Stage]
    processes: dict[int, Process]
    people: dict[int, Person]
    states: dict[str, MemberState]
    responded: dict[int, set[str]]
    contacts: list[dict[str, str]]
    extra: dict[str, Any] = field(default_factory=dict)
    gate_met: dict[int, str] = field(default_factory=dict)
    """Stages whose gate is met at the sweep's moment (why, for the record): their gated owners owe nothing."""
    meetings: dict[int, Meeting] = field(default_factory=dict)
    """The meetings of the batch's meeting rows (models.enums.MEETING_RULES)."""


def _reminds_gated_owner(row: Reminder, people: dict[int, Person]) -> bool:
    person = people.get(row.person_id)
    return (
        row.rule in (ReminderRule.BEFORE, ReminderRule.OVERDUE, ReminderRule.ESCALATION)
        and person is not None
        and gated(OWNER_OF_ROLE[person.role])
    )


def load_world(session: Session, rows: list[Reminder], now: datetime | None = None) -> World:
    """`now`: the moment the rows go out, to judge the gates of the stages that remind gated owners."""
    stage_ids = {r.stage_id for r in rows}
    stages = by_id(session.exec(select(Stage).where(col(Stage.id).in_(stage_ids))))
    processes = by_id(session.exec(select(Process).where(col(Process.id).in_({s.process_id for s in stages.values()}))))
    people = by_id(session.exec(select(Person).where(col(Person.id).in_({r.person_id for r in rows}))))
    responded: dict[int, set[str]] = {sid: set() for sid in stage_ids}
    for stage_id, code in session.exec(
        select(Response.stage_id, Response.member_state_code).where(col(Response.stage_id).in_(stage_ids))
    ).all():
        responded[stage_id].add(code)
    secretariat = active_secretariat(session)
    gate_met: dict[int, str] = {}
    if now is not None:
        for stage_id in sorted({r.stage_id for r in rows if _reminds_gated_owner(r, people)}):
            stage = stages.get(stage_id)
            if stage is None or stage.state is not StageState.ACTIVE:
                continue
            why = gate_met_reason(GateAt(session, processes[stage.process_id], stage).status(now))
            if why is not None:
                gate_met[stage_id] = why
    meeting_ids = {meeting_id_of(r.occurrence) for r in rows if r.rule in MEETING_RULES}
    meetings = by_id(session.exec(select(Meeting).where(col(Meeting.id).in_(meeting_ids)))) if meeting_ids else {}
    return World(
        stages,
        processes,
        people,
        {m.code: m for m in session.exec(select(MemberState)).all()},
        responded,
        [{"name": p.name, "email": p.email} for p in secretariat],
        gate_met=gate_met,
        meetings=meetings,
    )


def _meeting_row_wanted(world: World, row: Reminder) -> str | None:
    """A meeting's message goes while its recipient is active and the meeting is as the row says: not
    cancelled (a cancellation: cancelled), not yet held, a reminder only before the meeting's day moved."""
    meeting = world.meetings.get(meeting_id_of(row.occurrence))
    person = world.people.get(row.person_id)
    if meeting is None:
        return "meeting removed"
    if person is None:
        return "person removed"
    if not person.active:
        return "person inactive"
    if row.rule is ReminderRule.MEETING_CANCELLED:
        return None if meeting.status is MeetingStatus.CANCELLED else "meeting no longer cancelled"
    if meeting.status is not MeetingStatus.SCHEDULED:
        return f"meeting {meeting.status.value}"
    if row.rule not in MEETING_MAIL_RULES and row.due_date_seen != meeting.day:
        return "meeting moved"
    return None


def still_wanted(world: World, row: Reminder) -> str | None:
    """None when the row should go out; else why not (the planner cancels such rows; this guards the gap)."""
    if row.rule is ReminderRule.DIGEST:
        return None
    if row.rule in MEETING_RULES:
        return _meeting_row_wanted(world, row)
    stage = world.stages.get(row.stage_id)
    if stage is None:
        return "stage removed"
    if row.rule is ReminderRule.NOTICE:  # told whatever became of the stage since (notices.py decided who)
        person = world.people.get(row.person_id)
        return "person removed" if person is None else None if person.active else "person inactive"
    return why_not_owed(
        stage,
        world.people.get(row.person_id),
        start_notice=row.rule is ReminderRule.START,
        responded=lambda: world.responded.get(stage.id or 0, set()),
        gate_reason=lambda: world.gate_met.get(stage.id or 0),
    )


def _escalation_facts(session: Session, stage: Stage, state_code: str) -> tuple[str, int]:
    focal = session.exec(
        select(Person)
        .where(Person.role == Role.FOCAL_POINT, Person.member_state_code == state_code)
        .order_by(col(Person.id))
    ).all()
    names = " and ".join(p.name for p in focal) or "The focal point"
    sent = session.exec(
        select(func.count())
        .select_from(Reminder)
        .where(
            Reminder.stage_id == stage.id,
            col(Reminder.person_id).in_([p.id for p in focal]),
            col(Reminder.rule).in_([ReminderRule.BEFORE, ReminderRule.OVERDUE]),
            Reminder.status == ReminderStatus.SENT,
        )
    ).one()
    return names, int(sent)


def public_calendar(process_key: str, process_name: str, state: MemberState | None) -> dict[str, str]:
    """The public feed that fits the recipient (its member State's for focal points, else the process's), at the
    path the web app serves it (consultrack/web/feeds.py), as a webcal:// address: a click subscribes (a calendar
    that keeps itself up to date) instead of downloading a one-off .ics. A personal feed's address cannot be put
    in a mail, since only its token's digest is kept; the subscribe e-mail (`feed token new --send`) gives that."""
    base = urlsplit(get_settings().base_url.rstrip("/"))
    path = f"/member-states/{state.code}.ics" if state is not None else f"/processes/{process_key}.ics"
    url = urlunsplit(("webcal", base.netloc, f"{base.path}/calendars{path}", "", ""))
    return {"calendar_url": url, "calendar_of": state.in_text if state is not None else process_name}


def main_action(owner: Owner, state: MemberState | None, stage: Stage, process: Process) -> dict[str, str]:
    """The one button of a reminder: reply to the secretariat for those who owe a response, else open the stage."""
    settings = get_settings()
    if owner in (Owner.MEMBER_STATES, Owner.STAKEHOLDERS):
        _, address = parseaddr(settings.mail_reply_to or settings.mail_from)
        about = f"{'Response of ' + state.in_text if state else 'Comments'}: {stage.name}"
        return {"label": "Reply to the secretariat", "url": f"mailto:{address}?subject={quote(about)}"}
    base = settings.base_url.rstrip("/")
    return {"label": "Open the stage", "url": f"{base}/p/{quote(process.key)}/stages/{quote(stage.key)}"}


def reminder_context(
    session: Session, world: World, row: Reminder, now: datetime, *, late: bool
) -> tuple[str, dict[str, Any]]:
    """The message name and its template variables for one reminder row."""
    stage, person = world.stages[row.stage_id], world.people[row.person_id]
    process = world.processes[stage.process_id]
    if not limits.plausible(stage.due_date):  # a row planned before dates were bounded: no "739299 days overdue"
        raise RenderError(
            f"the deadline of {stage.name} ({stage.due_date.isoformat()}) is beyond reason: reschedule the stage"
        )
    state = world.states.get(person.member_state_code or "")
    zone, known, _country = locate(person, state, process.timezone)
    deadline = deadline_at(stage, process)
    today = now.astimezone(ZoneInfo(process.timezone)).date()
    days_left = stage.days_left(today)
    owner = OWNER_OF_ROLE[person.role]
    deadline_process, deadline_local = deadline_text(deadline, process.timezone), deadline_text(deadline, zone)
    ctx: dict[str, Any] = {
        "process": {"short_name": process.short_name, "title": process.title, "timezone": process.timezone},
        "stage": {"key": stage.key, "name": stage.name, "activity": stage.activity},
        "recipient": {"name": person.name, "email": person.email},
        "member_state": state.in_text if state else None,
        "due_date": stage.due_date,
        "deadline_process": deadline_process,
        "deadline_local": deadline_local,
        "zone_differs": deadline_local != deadline_process,
        "owner": owner.value,
        "action": main_action(owner, state, stage, process),
        "zone": zone,
        "zone_known": known,
        "days_left": days_left,
        "days_text": days_text(days_left),
        "due_what": (
            f"the response of {state.in_text} ({stage.name})" if owner is Owner.MEMBER_STATES and state else stage.name
        ),
        "task": TASKS[owner].format(state=state.in_text if state else "your country", key=stage.key),
        "contacts": world.contacts,
        **public_calendar(process.key, process.short_name, state if owner is Owner.MEMBER_STATES else None),
        "late": late,
    }
    if row.rule is ReminderRule.NOTICE:
        ctx["notice"] = notice_words(row.details)
    if row.rule is ReminderRule.ESCALATION and state is not None:
        ctx["focal_points"], ctx["reminders_sent"] = _escalation_facts(session, stage, state.code)
    return MESSAGE_OF_RULE[row.rule], ctx


def notice_words(details: dict[str, Any]) -> dict[str, Any]:
    """What a change notice says happened (notifications/reminders/notices.py plans them)."""
    kind = str(details.get("kind", "moved"))
    told, due = date.fromisoformat(details["from"]), date.fromisoformat(details["to"])
    return {
        "kind": kind,
        "was": told,
        "now": due,
        "now_text": f"{due:%A} {long_date(due)}",
        "verb": "extended" if due > told else "brought forward",
        "reason": str(details.get("reason") or ""),
    }
