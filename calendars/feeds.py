"""The three kinds of feed (process, member State, person) as bytes, with their validators.

A feed is a pure function of its rows and of the current UTC day (which cancelled events have been retired), so
it is rendered once per change and then served from memory: a request costs two small queries (the subject and
an aggregate over the rows' versions) until something changes. The ETag is a digest of the bytes, identical on
every replica. Last-Modified is the newest of: the rows' modified_at, the last audit entry (every change, a
directory import included, writes one: a person's new zone or role changes their feed without touching a row)
and the day a cancelled event was retired; it is in the cache key too, so every replica sends the same one.

Cancelled events (skipped stages, cancelled meetings) stay in the feed, STATUS:CANCELLED, for RETENTION after
they were cancelled: clients that merge a subscription rather than replace it (Outlook, Apple) then remove them,
and a client that was offline for a few weeks still learns of the cancellation. After that they are dropped.

A feed never fails for what is stored: a row that cannot be rendered (dates stored before models/limits.py bounded
them, say) is logged and left out, the rest is served, and `feed_problems` lists what is left out (/healthz).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache, partial
from typing import Any, TypeVar

from icalendar import Calendar, Event, vDuration, vText
from sqlalchemy import Engine, text
from sqlmodel import Session, col, func, select

from calendars import audience, events
from calendars.timezone import vtimezone
from config import clock
from models import limits, token_rules
from models.audience import zone_of
from models.audit import AuditEntry
from models.directory import MemberState, Person
from models.enums import Role
from models.errors import NotFound
from models.process import Meeting, Process, Stage
from models.queries import get_process

RETENTION = timedelta(days=60)
REFRESH = timedelta(hours=4)
PRODID = "-//consultrack//consultation calendars//EN"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str
    """A strong validator, quoted, derived from the bytes."""
    last_modified: datetime
    filename: str


# -- rendering ---------------------------------------------------------------------------------------------------


def _sort_key(event: Event) -> tuple[str, str]:
    start = event.decoded("dtstart")
    moment = start.astimezone(UTC).isoformat() if isinstance(start, datetime) else start.isoformat()
    return moment, str(event["uid"])


def render(name: str, description: str, items: Sequence[Event]) -> bytes:
    """The calendar around `items`. Its name and description are TEXT values, escaped as RFC 5545 3.3.11 says,
    the X- properties included (icalendar leaves a plain string under an unknown name unescaped, so a CR or a
    comma in a title would end the line or split the value there); names are one line."""
    name, description = events.shown_line(name), events.shown_text(description)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", vText(name))
    cal.add("x-wr-calname", vText(name))
    cal.add("description", vText(description))
    cal.add("x-wr-caldesc", vText(description))
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    years = [_sort_key(e)[0][:4] for e in items]
    for event in sorted(items, key=_sort_key):
        cal.add_component(event)
    if years:
        first, last = date(int(min(years)) - 1, 1, 1), date(int(max(years)) + 2, 1, 1)
        for tzid in sorted(cal.get_missing_tzids(), reverse=True):
            cal.subcomponents.insert(0, vtimezone(tzid, first, last))
    return cal.to_ical()


# -- the cache ---------------------------------------------------------------------------------------------------

_cache: OrderedDict[Hashable, Any] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 512


def _cached(key: Hashable, build: Callable[[], T]) -> T:
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    feed = build()
    with _cache_lock:
        _cache[key] = feed
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return feed


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _aggregates_sql(scoped: bool) -> str:
    where = " WHERE process_id = :process_id" if scoped else ""
    parts = [
        f"(SELECT {agg} FROM {table}{where})"
        for table in ("stage", "meeting")
        for agg in ("count(*)", "sum(version)", "max(modified_at)")
    ]
    where = " WHERE id = :process_id" if scoped else ""
    parts += [f"(SELECT {agg} FROM process{where})" for agg in ("count(*)", "max(id)", "max(created_at)")]
    parts.append("(SELECT max(at) FROM audit_entry)")
    return ", ".join(parts)


# Plain SQL, built once: this runs on every request, and composing it with the ORM costs three times more.
_FINGERPRINT = {True: text(f"SELECT {_aggregates_sql(True)}"), False: text(f"SELECT {_aggregates_sql(False)}")}
_PERSON_COLUMNS = "person.id, person.name, person.role, person.timezone, member_state.timezone"
_PERSONAL_PROBE = text(
    f"SELECT {_PERSON_COLUMNS}, {_aggregates_sql(False)} FROM {token_rules.LIVE_FROM_SQL}"
    f" LEFT JOIN member_state ON member_state.code = person.member_state_code WHERE {token_rules.LIVE_WHERE_SQL}"
)


def _key(session: Session, kind: str, subject: tuple[Any, ...], aggregates: Sequence[Any]) -> tuple[Any, ...]:
    """What a feed depends on. Every change to a stage or meeting bumps its version and sets its modified_at
    (models.lifecycle.touch); processes are never edited once created, only added. The sums only grow, so a
    key once superseded never comes back; the counts catch rows added or removed. The key names the database
    too (one process may serve several, as the tests do) and the UTC day, which decides which cancelled
    events are retired."""
    return (
        kind,
        tuple(str(v) for v in subject),
        tuple(str(v) for v in aggregates),
        _database(session.get_bind().engine),
        clock.now().date(),
    )


@lru_cache(maxsize=16)
def _database(engine: Engine) -> str:
    """The engine's URL as text, made once per engine (rendering a URL on every request costs as much as a query)."""
    return engine.url.render_as_string(hide_password=True)


def _fingerprint(session: Session, process_id: int | None) -> Sequence[Any]:
    scoped = process_id is not None
    return session.connection().execute(_FINGERPRINT[scoped], {"process_id": process_id} if scoped else {}).one()


def _feed(session: Session, body: bytes, newest: datetime, filename: str) -> Feed:
    audited = session.exec(select(func.max(AuditEntry.at))).one()
    last_modified = max(newest, audited) if audited is not None else newest
    return Feed(body, f'"{hashlib.sha256(body).hexdigest()[:40]}"', last_modified.replace(microsecond=0), filename)


# -- what each feed holds ----------------------------------------------------------------------------------------


@dataclass
class _Rows:
    process: Process
    stages: list[Stage]
    meetings: list[Meeting]


def _load(session: Session, process_id: int | None) -> list[_Rows]:
    query = select(Process).order_by(col(Process.id))
    if process_id is not None:
        query = query.where(Process.id == process_id)
    found = []
    for process in session.exec(query).all():
        stages = list(
            session.exec(select(Stage).where(Stage.process_id == process.id).order_by(col(Stage.position))).all()
        )
        meetings = list(
            session.exec(
                select(Meeting).where(Meeting.process_id == process.id).order_by(col(Meeting.day), col(Meeting.key))
            ).all()
        )
        found.append(_Rows(process, stages, meetings))
    return found


def _retired_on(row: Stage | Meeting) -> date | None:
    """The first UTC day a cancelled event is no longer in the feeds."""
    return row.modified_at.date() + RETENTION + timedelta(days=1) if events.is_cancelled(row) else None


def _live(row: Stage | Meeting, today: date, newest: datetime) -> tuple[bool, datetime]:
    """Whether the row is still shown, and `newest` moved to the day it left the feed if it has."""
    retired = _retired_on(row)
    if retired is None or retired > today:
        return True, newest
    return False, max(newest, datetime.combine(retired, time(0), UTC))


@dataclass(frozen=True)
class Skipped:
    """A stage or meeting the feeds leave out because it cannot be rendered, and why."""

    process: str
    kind: str
    key: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.process}: {self.kind} {self.name!r} ({self.key}) is left out of the feeds: {self.reason}"


def _beyond_reason(row: Stage | Meeting) -> str | None:
    days = (row.start_date, row.end_date, row.due_date) if isinstance(row, Stage) else (row.day, row.end_day)
    wrong = sorted({d for d in days if not limits.plausible(d)})
    if not wrong:
        return None
    return (
        f"its dates ({', '.join(d.isoformat() for d in wrong)}) are outside {limits.EARLIEST.year}-"
        f"{limits.LATEST.year}; reschedule it"
    )


def _rendered(
    process: Process, row: Stage | Meeting, build: Callable[[], list[Event]], skipped: list[Skipped]
) -> list[Event]:
    """The row's events, or none when it cannot be rendered: logged and listed in `skipped`, so that one bad row
    costs its own events and never the feed."""
    why = _beyond_reason(row)
    if why is None:
        try:
            return build()
        except Exception as exc:  # noqa: BLE001 - whatever it is, the other rows are still served
            why = f"{type(exc).__name__}: {exc}"
    kind, name = ("stage", row.name) if isinstance(row, Stage) else ("meeting", row.title)
    skip = Skipped(events.shown_line(process.short_name), kind, row.key, events.shown_line(name), why)
    log.warning("%s", skip)
    skipped.append(skip)
    return []


def _stage_events(process: Process, stage: Stage, deadline: Callable[[Process, Stage], Event]) -> list[Event]:
    return [events.stage_span(process, stage), deadline(process, stage)]


def _meeting_events(process: Process, meeting: Meeting, stage: Stage | None, joining: bool) -> list[Event]:
    return [events.meeting_event(process, meeting, stage, joining=joining)]


def _collect(
    groups: list[_Rows],
    want_stage: Callable[[Stage], bool],
    want_meeting: Callable[[Meeting], bool],
    deadline: Callable[[Process, Stage], Event],
    *,
    joining: bool = False,
) -> tuple[list[Event], datetime, list[Skipped]]:
    """`joining`: meetings show their online link and dial-in (secret): for a personal feed only."""
    today = clock.now().date()
    items: list[Event] = []
    skipped: list[Skipped] = []
    newest = _EPOCH
    for group in groups:
        process = group.process
        newest = max(newest, process.created_at)
        by_id = {s.id: s for s in group.stages}
        for stage in group.stages:
            if want_stage(stage):
                newest = max(newest, stage.modified_at)
                live, newest = _live(stage, today, newest)
                if live:
                    items += _rendered(process, stage, partial(_stage_events, process, stage, deadline), skipped)
        for meeting in group.meetings:
            if want_meeting(meeting):
                newest = max(newest, meeting.modified_at)
                live, newest = _live(meeting, today, newest)
                if live:
                    build = partial(_meeting_events, process, meeting, by_id.get(meeting.stage_id), joining)
                    items += _rendered(process, meeting, build, skipped)
    return items, newest, skipped


def feed_problems(session: Session) -> list[Skipped]:
    """The stages and meetings every feed leaves out, for /healthz: computed as the process feeds would (once
    per change, like a feed)."""
    return _cached(
        _key(session, "problems", (), _fingerprint(session, None)),
        lambda: _collect(_load(session, None), lambda s: True, lambda m: True, events.deadline)[2],
    )


def process_feed(session: Session, process_key: str) -> Feed:
    """Public: every stage, deadline and meeting of one process. No personal data."""
    process = get_process(session, process_key)

    def build() -> Feed:
        items, newest, _ = _collect(
            _load(session, process.id), lambda s: True, lambda m: True, lambda p, s: events.deadline(p, s)
        )
        body = render(process.short_name, f"{process.title}: stages, deadlines and meetings.", items)
        return _feed(session, body, newest, f"{process.key}.ics")

    return _cached(_key(session, "process", (process.id,), _fingerprint(session, process.id)), build)


def member_state_feed(session: Session, code: str) -> Feed:
    """Public: what member States owe and attend, in every process, named for one State."""
    state = session.get(MemberState, code.upper()) if len(code) == 2 else None
    if state is None:
        raise NotFound(f"unknown member State {code!r}")

    def build() -> Feed:
        def wanted(owners: list[str]) -> bool:
            return audience.concerns(owners, Role.FOCAL_POINT)

        items, newest, _ = _collect(
            _load(session, None),
            lambda s: wanted(s.owners),
            lambda m: wanted(m.attendees),
            lambda p, s: events.deadline(p, s, reader_zone=state.timezone),
        )
        body = render(
            calendar_name(session, state),
            f"Deadlines and meetings for {state.in_text} and its National Focal Points.",
            items,
        )
        return _feed(session, body, newest, f"{state.code}.ics")

    subject = (state.code, state.name, state.name_in_text, state.timezone)
    return _cached(_key(session, "state", subject, _fingerprint(session, None)), build)


def calendar_name(session: Session, state: MemberState | None, person_name: str | None = None) -> str:
    """The name a calendar application shows: the process (the newest, when the feed spans several) and the
    person's State, so a focal point sees "NEASPEC SP 2026-2030: Japan" among their calendars, not a tool's name."""
    newest = session.exec(select(Process.short_name).order_by(col(Process.id).desc())).first() or "Consultations"
    if state is None:
        return f"{newest}: {person_name}" if person_name else newest
    return f"{newest}: {state.name} ({person_name})" if person_name else f"{newest}: {state.name}"


def personal_feed(session: Session, person: Person) -> Feed:
    """Private: the person's own deadlines (with an alarm), the stages they act in, the meetings they attend.

    It names nobody else and carries no e-mail address at all."""
    state = session.get(MemberState, person.member_state_code) if person.member_state_code else None
    subject = (person.id, person.name, person.role.value, person.timezone, state.timezone if state else None)
    return _cached(
        _key(session, "person", subject, _fingerprint(session, None)), lambda: _render_personal(session, person, state)
    )


def personal_feed_for_token(session: Session, token: str) -> Feed | None:
    """The personal feed a token opens, or None for any miss: one query per request until something changes
    (the token, the person and the aggregates of the fingerprint together)."""
    row = session.connection().execute(_PERSONAL_PROBE, {"digest": token_rules.token_digest(token)}).first()
    if row is None:
        return None
    subject = (row[0], row[1], Role(row[2]).value, row[3], row[4])

    def build() -> Feed:
        person = session.get(Person, row[0])
        assert person is not None
        state = session.get(MemberState, person.member_state_code) if person.member_state_code else None
        return _render_personal(session, person, state)

    return _cached(_key(session, "person", subject, row[5:]), build)


def _render_personal(session: Session, person: Person, state: MemberState | None) -> Feed:
    groups = _load(session, None)
    zone = zone_of(person, state, groups[0].process.timezone if groups else "UTC")

    def mine(owners: list[str]) -> bool:
        return audience.concerns(owners, person.role)

    items, newest, _ = _collect(
        groups,
        lambda s: mine(s.owners),
        lambda m: mine(m.attendees),
        lambda p, s: events.deadline(p, s, reader_zone=zone, alarm=True),
        joining=True,
    )
    body = render(
        calendar_name(session, state, person.name),
        f"Your deadlines, stages and meetings ({person.name}); deadline times for {zone}.",
        items,
    )
    return _feed(session, body, newest, "consultations.ics")


def public_feeds(session: Session) -> list[tuple[str, Feed]]:
    """Every public feed with its path under /calendars/, as the web app serves it (and `feed export` writes)."""
    found = [
        (f"processes/{p.key}.ics", process_feed(session, p.key))
        for p in session.exec(select(Process).order_by(col(Process.id))).all()
    ]
    found += [
        (f"member-states/{s.code}.ics", member_state_feed(session, s.code))
        for s in session.exec(select(MemberState).order_by(col(MemberState.code))).all()
    ]
    return found
