"""Meetings as their own objects: add, edit, move, cancel, record held (with attendance per member State).

Each function changes rows in the caller's transaction and audits the change there (lifecycle.changed bumps the
meeting's version, so its calendar SEQUENCE rises on every change). Bad input raises `MeetingInputError`, which
names the field it is about (`field`: the form field, the CLI option, the API's key) and says in words what is
wrong; nothing is written. `check_*` functions let a face check its input before running a flow, with the same
words the flow would refuse it with.

The online link and the dial-in are secret: the audit entries say that they changed, never what they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from models.audit import record
from models.directory import MemberState
from models.enums import MEETING_KIND_WORDS, Attendance, MeetingKind, MeetingStatus, Owner
from models.errors import Conflict, InvalidInput, NotFound
from models.lifecycle import changed
from models.limits import ANY_PROCESS, long_date
from models.process import Meeting, MeetingAttendance, Process, Stage
from models.queries import get_meeting, get_member_state, lock_process, meeting_bounds, stages_of
from models.text import check_plain

SECRET_FIELDS = ("online_link", "dial_in")
"""Shown only in invitations and personal feeds: never in public or member-State feeds, exports or audit values."""
EDITABLE = (
    "title",
    "kind",
    "location",
    "virtual",
    "online_link",
    "dial_in",
    "agenda_link",
    "documents_link",
    "attendees",
)
FIELD_WORDS = {
    "meeting": "meeting",
    "title": "title",
    "kind": "kind",
    "stage": "stage",
    "date": "date",
    "end_date": "end date",
    "start": "start time",
    "end": "end time",
    "timezone": "time zone",
    "location": "place",
    "online_link": "online link",
    "dial_in": "dial-in",
    "agenda_link": "agenda link",
    "documents_link": "documents link",
    "attendees": "participants",
    "reason": "reason",
    "held_on": "date held",
    "attendance": "attendance",
    "status": "status",
}


class MeetingInputError(InvalidInput):
    """Bad input about one field of a meeting: a 422 in the API, exit code 2 on the command line."""

    exit_code = 2

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _bad(field: str, message: str) -> MeetingInputError:
    return MeetingInputError(field, f"{FIELD_WORDS.get(field, field)}: {message}")


# --- checks, usable by the faces before a flow runs ---------------------------------------------------------------


def check_zone(name: str | None) -> str:
    text = (name or "").strip()
    if not text:
        raise _bad("timezone", "a time zone is required (an IANA name such as Asia/Seoul)")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad("timezone", f"unknown time zone {text!r}; use an IANA name such as Asia/Seoul") from None
    return text


def check_link(value: str | None, field: str, *, https_only: bool) -> str | None:
    """An address, or None for blank. The online link must be https (it carries the meeting's secret)."""
    text = (value or "").strip()
    if not text:
        return None
    check_plain(text, FIELD_WORDS[field])
    lower = text.lower()
    if https_only and not lower.startswith("https://"):
        raise _bad(field, f"{text!r} is not an https address (it must begin with https://)")
    if not lower.startswith(("https://", "http://")) or len(text) <= len("https://"):
        raise _bad(field, f"{text!r} is not a web address (it must begin with https://)")
    return text


def _text(value: str | None, field: str, *, required: bool = False, multiline: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise _bad(field, "is required")
        return None
    check_plain(text, FIELD_WORDS[field], multiline=multiline)
    return text


def check_kind(value: str | MeetingKind) -> MeetingKind:
    try:
        return MeetingKind(value)
    except ValueError:
        known = ", ".join(k.value for k in MeetingKind)
        raise _bad("kind", f"unknown kind {value!r} (one of {known})") from None


def check_attendees(values: list[str]) -> list[str]:
    try:
        roles = [Owner(v.strip()) for v in values if v.strip()]
    except ValueError:
        known = ", ".join(o.value for o in Owner)
        raise _bad("attendees", f"unknown participants in {values!r} (any of {known})") from None
    if not roles:
        raise _bad("attendees", "name at least one kind of participant")
    return [o.value for o in dict.fromkeys(roles)]


@dataclass(frozen=True)
class When:
    """A meeting's days and times: timed (start and end times) or all day (no times)."""

    day: date
    end_day: date
    start_time: time | None
    end_time: time | None
    timezone: str

    def bounds(self) -> tuple[datetime, datetime]:
        probe = Meeting(
            process_id=0,
            stage_id=0,
            key="",
            title="",
            day=self.day,
            end_day=self.end_day,
            start_time=self.start_time,
            end_time=self.end_time,
            timezone=self.timezone,
            modified_at=datetime.min,
        )
        return meeting_bounds(probe)

    def words(self) -> str:
        return when_words(self.day, self.end_day, self.start_time, self.end_time, self.timezone)


def when_words(day: date, end_day: date, start: time | None, end: time | None, zone: str) -> str:
    """ "10 April 2025, 15:00-18:00 (Asia/Seoul)", "1 November 2025 (all day)"."""
    days = long_date(day) if end_day == day else f"{long_date(day)} to {long_date(end_day)}"
    if start is None or end is None:
        return f"{days} (all day)"
    return f"{days}, {start:%H:%M}-{end:%H:%M} ({zone})"


def meeting_when(meeting: Meeting) -> str:
    return when_words(meeting.day, meeting.end_day, meeting.start_time, meeting.end_time, meeting.timezone)


def check_when(
    day: date | None, end_day: date | None, start: time | None, end: time | None, timezone: str | None
) -> When:
    """Start and end with a zone, or an all-day date: the end after the start, the zone an IANA one."""
    if day is None:
        raise _bad("date", "a date is required (YYYY-MM-DD)")
    for field, value in (("date", day), ("end_date", end_day)):
        why = None if value is None else ANY_PROCESS.why_not(value)
        if why is not None:
            raise _bad(field, f"{long_date(value)} is {why}")  # type: ignore[arg-type]
    zone = check_zone(timezone)
    start = None if start is None else start.replace(tzinfo=None)  # in the meeting's zone, whatever came with it
    end = None if end is None else end.replace(tzinfo=None)
    last = end_day or day
    if last < day:
        raise _bad("end_date", f"{long_date(last)} is before the first day, {long_date(day)}")
    if (start is None) != (end is None):
        missing = "end" if end is None else "start"
        raise _bad(missing, "give both a start and an end time, or neither for an all-day meeting")
    when = When(day, last, start, end, zone)
    if start is not None and end is not None:
        first, finish = when.bounds()
        if finish <= first:
            raise _bad("end", f"the meeting ends ({end:%H:%M}) before it starts ({start:%H:%M})")
    return when


def moved_when(
    meeting: Meeting,
    *,
    day: date | None,
    end_day: date | None = None,
    start: time | None = None,
    end: time | None = None,
    timezone: str | None = None,
    all_day: bool = False,
) -> When:
    """Where a move takes the meeting when only some of it is given: its length in days, its times (unless all day
    or new ones are given) and its zone stay as they are."""
    first = day or meeting.day
    why = ANY_PROCESS.why_not(first)
    if why is not None:
        raise _bad("date", f"{long_date(first)} is {why}")
    last = end_day or min(first + (meeting.end_day - meeting.day), ANY_PROCESS.last)
    if all_day:
        start = end = None
    elif start is None and end is None:
        start, end = meeting.start_time, meeting.end_time
    elif start is not None and end is None and meeting.start_time is not None and meeting.end_time is not None:
        length = datetime.combine(first, meeting.end_time) - datetime.combine(first, meeting.start_time)
        end = (datetime.combine(first, start) + length).time()
    return check_when(first, last, start, end, timezone or meeting.timezone)


def _window(stage: Stage) -> str:
    return f"{long_date(stage.start_date)} to {long_date(stage.end_date)}"


def _inside(stage: Stage, when: When) -> bool:
    return stage.start_date <= when.day and when.end_day <= stage.end_date


def place_in_stage(stages: list[Stage], when: When, stage_key: str | None, current: Stage | None) -> Stage:
    """The stage a meeting at `when` belongs to: the one named, else its current one, else the one whose window
    holds it. Refused, saying which stage's window it would fit, when it falls outside the stage it is in."""
    by_key = {s.key: s for s in stages}
    fits = [s for s in stages if _inside(s, when)]
    if stage_key:
        if stage_key not in by_key:
            known = ", ".join(by_key) or "none"
            raise _bad("stage", f"unknown stage {stage_key!r} (stages: {known})")
        target: Stage | None = by_key[stage_key]
    else:
        target = current
    if target is None:
        if not fits:
            raise _outside_every(stages, when)
        return fits[0]
    if _inside(target, when):
        return target
    if not fits:
        raise _outside_every(stages, when)
    other = fits[0]
    raise _bad(
        "date",
        f"{when.words()} is outside the window of \u201c{target.name}\u201d ({_window(target)}); it falls in "
        f"\u201c{other.name}\u201d ({_window(other)}): choose that stage ({other.key}) or a date inside the window",
    )


def _outside_every(stages: list[Stage], when: When) -> MeetingInputError:
    if not stages:
        return _bad("date", f"{when.words()} is outside every stage: the process has no stages")
    first = min(s.start_date for s in stages)
    last = max(s.end_date for s in stages)
    return _bad(
        "date",
        f"{when.words()} is outside every stage of the process (its stages run from {long_date(first)} "
        f"to {long_date(last)})",
    )


def find_meeting(session: Session, process: Process, key: str, *, for_update: bool = False) -> Meeting:
    """The meeting, or bad input naming the field (an unknown meeting is a 422 here, like any bad field)."""
    try:
        return get_meeting(session, process, key, for_update=for_update)
    except NotFound as exc:
        raise MeetingInputError("meeting", exc.message) from None


def _stage_by_id(session: Session, meeting: Meeting) -> Stage:
    stage = session.get(Stage, meeting.stage_id)
    assert stage is not None
    return stage


def _summary_after(meeting: Meeting, stage: Stage) -> dict[str, Any]:
    return {
        "meeting": meeting.title,
        "stage": stage.name,
        "when": meeting_when(meeting),
        "kind": MEETING_KIND_WORDS[meeting.kind],
    }


# --- the operations ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingFields:
    """What `add` and `edit` take besides the dates; None in `edit`: unchanged."""

    title: str | None = None
    kind: str | None = None
    location: str | None = None
    virtual: bool | None = None
    online_link: str | None = None
    dial_in: str | None = None
    agenda_link: str | None = None
    documents_link: str | None = None
    attendees: list[str] | None = None


def check_fields(fields: MeetingFields) -> dict[str, Any]:
    """The given fields, checked and cleaned ("" clears a link, the place or the dial-in)."""
    out: dict[str, Any] = {}
    if fields.title is not None:
        out["title"] = _text(fields.title, "title", required=True)
    if fields.kind is not None:
        out["kind"] = check_kind(fields.kind)
    if fields.location is not None:
        out["location"] = _text(fields.location, "location", multiline=True) or ""
    if fields.virtual is not None:
        out["virtual"] = fields.virtual
    if fields.online_link is not None:
        out["online_link"] = check_link(fields.online_link, "online_link", https_only=True)
    if fields.dial_in is not None:
        out["dial_in"] = _text(fields.dial_in, "dial_in", multiline=True)
    for name in ("agenda_link", "documents_link"):
        value = getattr(fields, name)
        if value is not None:
            out[name] = check_link(value, name, https_only=False)
    if fields.attendees is not None:
        out["attendees"] = check_attendees(fields.attendees)
    return out


def _shown(name: str, value: Any) -> Any:
    if name in SECRET_FIELDS:
        return "set" if value else "none"
    if isinstance(value, MeetingKind):
        return MEETING_KIND_WORDS[value]
    return value


def add_meeting(
    session: Session,
    process_key: str,
    key: str,
    *,
    when: When,
    fields: MeetingFields,
    actor: str,
    now: datetime,
    stage_key: str | None = None,
    tentative: bool = False,
) -> Meeting:
    process = lock_process(session, process_key)
    key = (key or "").strip()
    if not key or not key.replace("-", "").isalnum() or key != key.lower() or len(key) > 63:
        raise _bad("meeting", f"{key!r} is not a key: lower-case letters, digits and hyphens, e.g. som-28")
    exists = session.exec(select(Meeting).where(Meeting.process_id == process.id, Meeting.key == key)).first()
    if exists is not None:
        raise _bad("meeting", f"{process.short_name} already has a meeting {key!r} (\u201c{exists.title}\u201d)")
    values = check_fields(fields)
    if "title" not in values:
        raise _bad("title", "is required")
    stage = place_in_stage(stages_of(session, process), when, stage_key, None)
    assert process.id is not None and stage.id is not None
    meeting = Meeting(
        process_id=process.id,
        stage_id=stage.id,
        key=key,
        title=values["title"],
        day=when.day,
        end_day=when.end_day,
        start_time=when.start_time,
        end_time=when.end_time,
        timezone=when.timezone,
        location=values.get("location", ""),
        virtual=values.get("virtual", False),
        tentative=tentative,
        attendees=values.get("attendees", [Owner.MEMBER_STATES.value, Owner.SECRETARIAT.value]),
        kind=values.get("kind", MeetingKind.CONSULTATION),
        online_link=values.get("online_link"),
        dial_in=values.get("dial_in"),
        agenda_link=values.get("agenda_link"),
        documents_link=values.get("documents_link"),
        version=0,  # `changed` bumps it to 1, the version a new row starts at
        modified_at=now,
    )
    session.add(meeting)
    session.flush()
    after = _summary_after(meeting, stage)
    after["summary"] = f"Added \u201c{meeting.title}\u201d on {meeting_when(meeting)}, in \u201c{stage.name}\u201d"
    changed(session, process, meeting, actor=actor, now=now, action="meeting.add", after=after)
    return meeting


def edit_meeting(
    session: Session, process_key: str, meeting_key: str, *, fields: MeetingFields, actor: str, now: datetime
) -> Meeting:
    process = lock_process(session, process_key)
    meeting = find_meeting(session, process, meeting_key, for_update=True)
    values = check_fields(fields)
    if "title" in values and values["title"] is None:
        raise _bad("title", "is required")
    changes = {k: v for k, v in values.items() if getattr(meeting, k) != v}
    if not changes:
        raise _bad("meeting", f"nothing to change in \u201c{meeting.title}\u201d: give a field with a new value")
    before = {k: _shown(k, getattr(meeting, k)) for k in changes}
    for name, value in changes.items():
        setattr(meeting, name, value)
    after = {k: _shown(k, v) for k, v in changes.items()}
    after["summary"] = f"Changed the {', '.join(FIELD_WORDS[k] for k in changes)} of \u201c{meeting.title}\u201d"
    changed(session, process, meeting, actor=actor, now=now, action="meeting.edit", before=before, after=after)
    return meeting


def check_movable(meeting: Meeting) -> None:
    if meeting.status is MeetingStatus.CANCELLED:
        raise _bad("status", f"\u201c{meeting.title}\u201d was cancelled: a cancelled meeting cannot be moved")
    if meeting.status is MeetingStatus.HELD:
        raise _bad("status", f"\u201c{meeting.title}\u201d was recorded held: a held meeting cannot be moved")


def move_meeting(
    session: Session,
    process_key: str,
    meeting_key: str,
    *,
    when: When,
    actor: str,
    now: datetime,
    reason: str | None = None,
    stage_key: str | None = None,
    tentative: bool = False,
) -> Meeting:
    """New days and times (or an all-day date) and zone. Setting the date confirms it, unless `tentative`.
    Whoever calls this after commit tells the invited (notifications.reminders.invitations.queue_meeting_update)."""
    process = lock_process(session, process_key)
    meeting = find_meeting(session, process, meeting_key, for_update=True)
    check_movable(meeting)
    reason = _text(reason, "reason", multiline=True)
    stage = place_in_stage(stages_of(session, process), when, stage_key, _stage_by_id(session, meeting))
    old = meeting_when(meeting)
    same = (meeting.day, meeting.end_day, meeting.start_time, meeting.end_time, meeting.timezone) == (
        when.day,
        when.end_day,
        when.start_time,
        when.end_time,
        when.timezone,
    )
    if same and stage.id == meeting.stage_id and meeting.tentative == tentative:
        raise _bad("date", f"\u201c{meeting.title}\u201d is already on {old}")
    before = {"when": old, "stage": _stage_by_id(session, meeting).name, "tentative": meeting.tentative}
    meeting.day, meeting.end_day = when.day, when.end_day
    meeting.start_time, meeting.end_time, meeting.timezone = when.start_time, when.end_time, when.timezone
    meeting.tentative = tentative
    assert stage.id is not None
    meeting.stage_id = stage.id
    after = {"when": meeting_when(meeting), "stage": stage.name, "tentative": tentative}
    after["summary"] = f"Moved \u201c{meeting.title}\u201d from {old} to {meeting_when(meeting)}"
    changed(
        session,
        process,
        meeting,
        actor=actor,
        now=now,
        action="meeting.move",
        before=before,
        after=after,
        reason=reason,
    )
    return meeting


def cancel_meeting(
    session: Session, process_key: str, meeting_key: str, *, reason: str | None, actor: str, now: datetime
) -> Meeting:
    """Calendars mark it cancelled; whoever calls this after commit tells the invited (queue_meeting_update)."""
    process = lock_process(session, process_key)
    meeting = find_meeting(session, process, meeting_key, for_update=True)
    if meeting.status is MeetingStatus.CANCELLED:
        raise Conflict(f"meeting {meeting.key} is already cancelled")
    if meeting.status is MeetingStatus.HELD:
        raise _bad("status", f"\u201c{meeting.title}\u201d was recorded held: a held meeting cannot be cancelled")
    why = _text(reason, "reason", required=True, multiline=True)
    before = {"status": meeting.status.value}
    meeting.status = MeetingStatus.CANCELLED
    after = {"status": "cancelled", "summary": f"Cancelled \u201c{meeting.title}\u201d of {meeting_when(meeting)}"}
    changed(
        session,
        process,
        meeting,
        actor=actor,
        now=now,
        action="meeting.cancelled",
        before=before,
        after=after,
        reason=why,
    )
    return meeting


def check_attendance(session: Session, values: dict[str, str]) -> dict[str, Attendance]:
    """{member State (code or name): registered | attended | apologies} -> {code: Attendance}."""
    out: dict[str, Attendance] = {}
    for who, what in values.items():
        try:
            state = get_member_state(session, who)
        except NotFound as exc:
            raise _bad("attendance", exc.message) from None
        try:
            out[state.code] = Attendance(what.strip().lower())
        except ValueError:
            known = ", ".join(a.value for a in Attendance)
            raise _bad("attendance", f"{state.name}: {what!r} is not one of {known}") from None
    return out


def record_attendance(
    session: Session, meeting: Meeting, attendance: dict[str, Attendance], *, actor: str, now: datetime
) -> dict[str, str]:
    """Set each State's attendance (replacing what was recorded); the audit values are in words."""
    assert meeting.id is not None
    rows = {
        a.member_state_code: a
        for a in session.exec(select(MeetingAttendance).where(MeetingAttendance.meeting_id == meeting.id)).all()
    }
    shown: dict[str, str] = {}
    for code, value in attendance.items():
        row = rows.get(code)
        if row is None:
            row = MeetingAttendance(
                meeting_id=meeting.id, member_state_code=code, attendance=value, recorded_by=actor, recorded_at=now
            )
        else:
            row.attendance, row.recorded_by, row.recorded_at = value, actor, now
        session.add(row)
        state = session.get(MemberState, code)
        shown[state.name if state else code] = value.value
    return shown


def set_attendance(
    session: Session,
    process_key: str,
    meeting_key: str,
    attendance: dict[str, str],
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> Meeting:
    """The secretariat records each State's attendance (registered, attended, apologies), before or after the
    meeting; "none" clears what was recorded. Changing or clearing a recorded value is a correction: it needs a
    reason, and the audit keeps what it said before. Not a change of the meeting: no update goes to its invitees."""
    process = lock_process(session, process_key)
    meeting = find_meeting(session, process, meeting_key, for_update=True)
    if meeting.status is MeetingStatus.CANCELLED:
        raise _bad("attendance", f"\u201c{meeting.title}\u201d was cancelled: there is no attendance to record")
    note = _text(reason, "reason", multiline=True)
    if not attendance:
        raise _bad("attendance", "give at least one member State's attendance, e.g. JP=attended")
    clear = {who for who, what in attendance.items() if what.strip().lower() in ("none", "")}
    states = check_attendance(session, {who: what for who, what in attendance.items() if who not in clear})
    cleared = set(check_attendance(session, dict.fromkeys(clear, Attendance.REGISTERED.value)))
    current = attendance_of(session, meeting)
    names = {m.code: m.name for m in session.exec(select(MemberState)).all()}
    corrected = sorted(c for c in (set(states) | cleared) if c in current and states.get(c) != current[c])
    if corrected and note is None:
        raise _bad(
            "reason",
            f"a reason is required to change what was recorded for {', '.join(names[c] for c in corrected)}",
        )
    before = {names[c]: current[c].value for c in sorted(set(states) | cleared) if c in current}
    after: dict[str, Any] = record_attendance(session, meeting, states, actor=actor, now=now)
    for row in session.exec(
        select(MeetingAttendance).where(
            MeetingAttendance.meeting_id == meeting.id, col(MeetingAttendance.member_state_code).in_(cleared)
        )
    ).all():
        session.delete(row)
        after[names[row.member_state_code]] = "not recorded"
    record(
        session,
        at=now,
        actor=actor,
        action="meeting.attendance",
        process_key=process.key,
        stage_key=meeting.key,
        before=before or None,
        after={**after, "summary": f"Attendance at \u201c{meeting.title}\u201d recorded"},
        reason=note,
    )
    return meeting


def attendance_of(session: Session, meeting: Meeting) -> dict[str, Attendance]:
    """{member State code: attendance} as recorded."""
    query = select(MeetingAttendance).where(MeetingAttendance.meeting_id == meeting.id)
    return {a.member_state_code: a.attendance for a in session.exec(query.order_by(col(MeetingAttendance.id))).all()}


def record_held(
    session: Session,
    process_key: str,
    meeting_key: str,
    *,
    actor: str,
    now: datetime,
    held_on: date | None = None,
    attendance: dict[str, str] | None = None,
    reason: str | None = None,
) -> Meeting:
    """The secretariat records the meeting held: refused before it starts and once cancelled. `held_on` (default:
    today in the meeting's zone) lies between its first day and today."""
    process = lock_process(session, process_key)
    meeting = find_meeting(session, process, meeting_key, for_update=True)
    if meeting.status is MeetingStatus.HELD:
        raise Conflict(f"meeting {meeting.key} is already held")
    if meeting.status is MeetingStatus.CANCELLED:
        raise _bad("status", f"\u201c{meeting.title}\u201d was cancelled: a cancelled meeting cannot be recorded held")
    note = _text(reason, "reason", multiline=True)
    start, _ = meeting_bounds(meeting)
    if now < start:
        raise _bad(
            "status",
            f"\u201c{meeting.title}\u201d has not started yet (it starts {meeting_when(meeting)}): "
            "it can be recorded held once it has begun",
        )
    today = now.astimezone(ZoneInfo(meeting.timezone)).date()
    day = held_on or min(today, meeting.end_day)
    if day < meeting.day or day > today:
        raise _bad(
            "held_on",
            f"{long_date(day)} is not between the meeting's first day ({long_date(meeting.day)}) and today "
            f"({long_date(today)})",
        )
    states = check_attendance(session, attendance or {})
    before = {"status": meeting.status.value}
    meeting.status, meeting.held_on = MeetingStatus.HELD, day
    after: dict[str, Any] = {"status": "held", "held_on": long_date(day)}
    if states:
        after["attendance"] = record_attendance(session, meeting, states, actor=actor, now=now)
    after["summary"] = f"Recorded \u201c{meeting.title}\u201d held on {long_date(day)}"
    changed(
        session, process, meeting, actor=actor, now=now, action="meeting.held", before=before, after=after, reason=note
    )
    return meeting


def set_meeting_status(
    session: Session,
    process_key: str,
    meeting_key: str,
    status: MeetingStatus,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> Meeting:
    """Held or cancelled, as the status operation takes it (`meeting held`, `meeting cancel`)."""
    if status is MeetingStatus.HELD:
        return record_held(session, process_key, meeting_key, actor=actor, now=now, reason=reason)
    if status is MeetingStatus.CANCELLED:
        try:
            return cancel_meeting(session, process_key, meeting_key, reason=reason, actor=actor, now=now)
        except MeetingInputError as exc:
            if exc.field == "reason":
                raise InvalidInput("a reason to cancel a meeting is required") from None
            raise
    raise _bad("status", f"a meeting can be recorded held or cancelled, not {status.value}")


def meeting_stage(session: Session, process: Process, meeting: Meeting) -> Stage:
    return next(s for s in stages_of(session, process) if s.id == meeting.stage_id)
