"""Claiming rows and recording what happened to them. A row is sent by whoever moves it from pending to
sending, which only one can do: on PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED (two
sweeps take disjoint rows, neither waits), and on every database the move itself is a compare-and-set
(UPDATE ... WHERE status = 'pending'), which is what serialises writers on SQLite.

A claim older than the lease (its sweep died) is taken again and sent with the same Message-ID.

Two clocks meet here (config/clock.py): the business clock `now` decides which rows are due (send_at) and what is
recorded as sent; the real clock `real` stamps claims, expires leases and times the backoff of retries, so a
sweep standing on a frozen day (the demo, CONSULTRACK_NOW) still lets a dead sweep's claims go after the lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, CursorResult, String, and_, cast, func, literal, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from models.enums import MEETING_MAIL_RULES, MEETING_REMINDER_RULES, ReminderRule, ReminderStatus
from models.queries import select_rows
from models.reminder import Reminder, meeting_id_of
from notifications.mail.message import new_message_id

PENDING, SENDING, SENT = ReminderStatus.PENDING, ReminderStatus.SENDING, ReminderStatus.SENT


@dataclass
class Claimed:
    ids: list[int]
    skipped: int
    found: int
    """Due or stale rows looked at; none means nothing is left to send (the batch may still claim none, when
    every row in it was superseded, or taken meanwhile by another sweep)."""


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes between tries, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _group(stage_id: int, person_id: int, rule: ReminderRule, occurrence: int) -> tuple[int, int, str]:
    """Rows of one group supersede each other (the latest due goes): a stage's reminders to a person; the digest;
    a meeting's invitation, updates and cancellation; a meeting's reminders."""
    if rule is ReminderRule.DIGEST:
        return (stage_id, person_id, "digest")
    if rule in MEETING_MAIL_RULES:
        return (stage_id, person_id, f"meeting {meeting_id_of(occurrence)}")
    if rule in MEETING_REMINDER_RULES:
        return (stage_id, person_id, f"meeting reminder {meeting_id_of(occurrence)}")
    return (stage_id, person_id, "stage")


def _claimable(real: datetime, lease: timedelta) -> ColumnElement[bool]:
    status = col(Reminder.status)
    return or_(status == PENDING, and_(status == SENDING, col(Reminder.claimed_at) < real - lease))


def claim_batch(
    session: Session, *, worker: str, now: datetime, real: datetime, limit: int, lease: timedelta, sender: str
) -> Claimed:
    """Claim up to `limit` due rows: due by the business clock `now`, their backoff over and stale claims
    expired by the real clock `real`. Of several due rows for one (stage, recipient), only the latest is sent:
    the others are recorded as skipped ("7 days left" must not arrive when 1 day is left)."""
    locking = session.get_bind().dialect.name == "postgresql"
    columns = (
        col(Reminder.id),
        col(Reminder.stage_id),
        col(Reminder.person_id),
        col(Reminder.rule),
        col(Reminder.send_at),
        col(Reminder.occurrence),
    )
    status, send_at, retry_at = col(Reminder.status), col(Reminder.send_at), col(Reminder.next_attempt_at)
    due = (
        select_columns(*columns)
        .where(status == PENDING, send_at <= now, or_(retry_at.is_(None), retry_at <= real))
        .order_by(send_at, col(Reminder.id))
        .limit(limit)
    )
    stale = (
        select_columns(*columns)
        .where(status == SENDING, col(Reminder.claimed_at) < real - lease)
        .order_by(send_at)
        .limit(limit)
    )
    if locking:
        due, stale = due.with_for_update(skip_locked=True), stale.with_for_update(skip_locked=True)
    candidates = {row.id: row for row in [*select_rows(session, stale).all(), *select_rows(session, due).all()]}
    if not candidates:
        return Claimed([], 0, 0)

    latest: dict[tuple[int, int, str], tuple[datetime, int]] = {}
    siblings = select_columns(*columns).where(
        col(Reminder.stage_id).in_({c.stage_id for c in candidates.values()}),
        col(Reminder.person_id).in_({c.person_id for c in candidates.values()}),
        status.in_([PENDING, SENDING, SENT]),
        send_at <= now,
    )
    for row in [*select_rows(session, siblings).all(), *candidates.values()]:
        key = _group(row.stage_id, row.person_id, row.rule, row.occurrence)
        latest[key] = max(latest.get(key, (row.send_at, row.id)), (row.send_at, row.id))

    winners: list[int] = []
    skipped = 0
    for row in sorted(candidates.values(), key=lambda r: (r.send_at, r.id)):
        newest = latest[_group(row.stage_id, row.person_id, row.rule, row.occurrence)]
        if newest == (row.send_at, row.id):
            winners.append(row.id)
            continue
        record = session.get(Reminder, row.id)
        if record is not None and record.status in (PENDING, SENDING):
            record.status, record.claimed_by = ReminderStatus.SKIPPED, None
            record.details = {**record.details, "superseded_by": newest[1], "skipped_at": now.isoformat()}
            skipped += 1
    prefix, suffix = new_message_id(sender, "claim").split(".claim.")
    session.exec(
        update(Reminder)
        .where(col(Reminder.id).in_(winners), _claimable(real, lease))
        .values(
            status=SENDING,
            claimed_by=worker,
            claimed_at=real,
            attempts=Reminder.attempts + 1,
            # One Message-ID per row, kept for every later try: <ct.ROW.TOKEN@domain>.
            message_id=func.coalesce(
                Reminder.message_id, literal(prefix + ".") + cast(Reminder.id, String) + literal("." + suffix)
            ),
        )
        .execution_options(synchronize_session=False)
    )
    claimed = [
        row_id
        for row_id in session.exec(
            select(Reminder.id).where(
                col(Reminder.id).in_(winners),
                col(Reminder.claimed_by) == worker,
                col(Reminder.claimed_at) == real,
                status == SENDING,
            )
        )
        if row_id is not None
    ]  # stored rows: every id is set
    session.flush()
    return Claimed(claimed, skipped, len(candidates))


def finish(
    db: Session | Connection, row_id: int, worker: str, *, details: dict[str, Any] | None = None, **values: Any
) -> bool:
    """Record the outcome of a claimed row, only while the claim is still ours (a session, or a bare connection
    where one statement per message matters)."""
    this = col(Reminder.id) == row_id
    done = db.execute(
        update(Reminder)
        .where(this, col(Reminder.status) == SENDING, col(Reminder.claimed_by) == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(done, CursorResult)  # what an UPDATE gives, on a session as on a connection
    if done.rowcount == 1 and details:
        current: dict[str, Any] = db.execute(select(col(Reminder.details)).where(this)).scalar_one()
        db.execute(
            update(Reminder)
            .where(this)
            .values(details={**current, **details})
            .execution_options(synchronize_session=False)
        )
    return bool(done.rowcount == 1)


def mark_sent(
    db: Session | Connection, row_id: int, worker: str, *, now: datetime, late: bool, refused: dict[str, str]
) -> bool:
    return finish(
        db,
        row_id,
        worker,
        status=ReminderStatus.SENT,
        sent_at=now,
        late=late,
        last_error=None,
        next_attempt_at=None,
        details={"refused": refused} if refused else None,
    )


def mark_failed(
    session: Session, row_id: int, worker: str, *, error: str, refused: dict[str, str] | None = None
) -> bool:
    """`refused`: the recipients the server refused (a refused main recipient fails the row even when a copy
    went), kept in the row's details."""
    return finish(
        session,
        row_id,
        worker,
        status=ReminderStatus.FAILED,
        last_error=error[:1000],
        next_attempt_at=None,
        details={"refused": refused} if refused else None,
    )


def mark_cancelled(session: Session, row_id: int, worker: str, *, why: str, now: datetime) -> bool:
    return finish(
        session,
        row_id,
        worker,
        status=ReminderStatus.CANCELLED,
        claimed_by=None,
        details={"why": why, "cancelled_at": now.isoformat()},
    )


def already_delivered(row: Reminder) -> list[str]:
    """Recipients an earlier try of `row` reached (see mark_retry)."""
    return list(row.details.get("delivered_to", []))


def mark_retry(
    session: Session,
    row_id: int,
    worker: str,
    *,
    real: datetime,
    error: str,
    max_attempts: int,
    tried: bool = True,
    refused: dict[str, str] | None = None,
    delivered: list[str] | None = None,
) -> str:
    """Back to pending for a later try (4xx, dropped connection), or failed once the tries are used up. The next
    try waits its backoff on the real clock `real`: a server's trouble passes in real time, whatever day the
    business clock stands on.
    `tried=False` releases a row that never reached the server: the claim does not count as a try.
    `delivered`: recipients that took this try (copies of a deferred main recipient), left out of the next."""
    row = session.get(Reminder, row_id)
    if row is None or row.status is not SENDING or row.claimed_by != worker:
        return "lost"
    if refused:
        row.details = {**row.details, "refused": refused}
    if delivered:
        row.details = {**row.details, "delivered_to": sorted({*already_delivered(row), *delivered})}
    attempts = row.attempts if tried else row.attempts - 1
    if tried and attempts >= max_attempts:
        row.status, row.last_error = ReminderStatus.FAILED, f"gave up after {attempts} tries: {error}"[:1000]
        return "failed"
    row.status, row.attempts, row.last_error = PENDING, attempts, error[:1000]
    row.claimed_by, row.claimed_at = None, None
    row.next_attempt_at = real + backoff(max(attempts, 1))
    return "retry"
