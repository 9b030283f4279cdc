"""The sweep: send what is due now. Safe to run late, twice, or in two processes at once, because every row is
claimed before it is sent and recorded right after the server has taken it."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection as DBConnection
from sqlmodel import Session, col, select

from config import clock
from config.settings import Settings, get_settings
from models.db import get_engine, read_session, session_scope
from models.enums import MEETING_RULES, ReminderRule
from models.queries import by_id
from models.reminder import Reminder, meeting_id_of
from notifications.mail.ics import deadline_ics
from notifications.mail.message import Envelope, InvalidAddress, build_message, checked_address
from notifications.mail.render import RenderError, render
from notifications.mail.transport import ConnectionLost, LoginFailed, PermanentFailure, Route, TransientFailure, route
from notifications.reminders import claims
from notifications.reminders.context import load_world, reminder_context, still_wanted
from notifications.reminders.digest import digest_context
from notifications.reminders.invitations import meeting_message

MAX_RECONNECTS = 2
_stop_after_batch = threading.Event()


def stop_after_batch() -> None:
    """Shutdown: a sweep under way finishes the batch it is sending (every claimed row settled), then stops;
    what is left stays pending for the next sweep, here or in another replica."""
    _stop_after_batch.set()


def resume() -> None:
    _stop_after_batch.clear()


@dataclass
class SweepReport:
    sent: int = 0
    late: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Outgoing:
    row_id: int
    envelope: Envelope
    late: bool


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Batch:
    """The rows of one claim, rendered one at a time while the previous message is on the wire."""

    def __init__(self, session: Session, ids: list[int], worker: str, now: datetime, settings: Settings) -> None:
        self.session, self.worker, self.now, self.settings = session, worker, now, settings
        self.rows = list(
            session.exec(
                select(Reminder).where(col(Reminder.id).in_(ids)).order_by(col(Reminder.send_at), col(Reminder.id))
            ).all()
        )
        self.world = load_world(session, self.rows, now)
        self.verdicts: list[tuple[int, str, str]] = []
        self.settled: set[int] = set()
        self.notes: list[str] = []
        self.unsent_error = "not sent: the sweep stopped before it"
        self._recording: DBConnection | None = None

    def recorder(self) -> DBConnection:
        """One connection for the batch's "sent" marks: no pool checkout and liveness ping per message.
        On PostgreSQL each mark is one autocommitted UPDATE whose commit does not wait for the WAL flush: a crash
        of this process loses nothing (the server has the commit); a crash of the database server may forget
        the last few marks, whose messages then go again with the same Message-ID. A disk flush per message
        would halve the rate."""
        if self._recording is None:
            connection = get_engine().connect()
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.exec_driver_sql("SET synchronous_commit TO OFF")
                connection.commit()
            self._recording = connection
        return self._recording

    def prepare(self, row: Reminder) -> Outgoing | None:
        """The message for `row`, or None when it must not go (recorded as a verdict: cancel or fail)."""
        assert row.id is not None and row.message_id is not None
        why = still_wanted(self.world, row)
        if why is not None:
            self.verdicts.append((row.id, "cancel", why))
            return None
        late = self.now - row.send_at > timedelta(minutes=self.settings.reminder_late_after_minutes)
        world = self.world
        try:
            person, stage = world.people[row.person_id], world.stages[row.stage_id]
            ics, method = None, "PUBLISH"
            if row.rule is ReminderRule.DIGEST:
                message_name, ctx = "digest", digest_context(self.session, world, row, self.now)
            elif row.rule in MEETING_RULES:
                message_name, ctx, ics, method = meeting_message(
                    self.session,
                    row,
                    world.meetings[meeting_id_of(row.occurrence)],
                    world.processes[stage.process_id],
                    stage,
                    person,
                    self.now,
                    world.contacts,
                )
                ctx["late"] = late
            else:
                message_name, ctx = reminder_context(self.session, world, row, self.now, late=late)
                ics = deadline_ics(world.processes[stage.process_id], stage)
            rendered = render(message_name, ctx)
            cc = []
            for address in row.cc:
                try:
                    cc.append(checked_address(address))
                except InvalidAddress:
                    self.notes.append(f"reminder {row.id}: cc {address!r} dropped: not a valid address")
            message = build_message(
                sender=self.settings.mail_from,
                to=(person.name, person.email),
                cc=cc,
                reply_to=self.settings.mail_reply_to,
                rendered=rendered,
                message_id=row.message_id,
                date=self.now,
                ics=ics,
                ics_method=method,
            )
        except (RenderError, InvalidAddress, ValueError) as exc:
            self.verdicts.append((row.id, "fail", str(exc)))
            return None
        if delivered := {address.lower() for address in claims.already_delivered(row)}:
            # A retry after a deferred main recipient: the copies that took the first try are not sent again
            # (their header still names them, as in the message they have).
            message = replace(message, recipients=[a for a in message.recipients if a.lower() not in delivered])
        return Outgoing(row.id, message, late)

    def close(self, report: SweepReport) -> None:
        """Record the verdicts, and give back every claimed row that was neither sent nor settled."""
        if self._recording is not None:
            if self._recording.dialect.name == "postgresql":
                self._recording.exec_driver_sql("RESET synchronous_commit")
            self._recording.close()
        report.errors.extend(self.notes)
        with session_scope() as session:
            for row_id, verdict, why in self.verdicts:
                if verdict == "cancel":
                    report.cancelled += claims.mark_cancelled(session, row_id, self.worker, why=why, now=self.now)
                else:
                    report.failed += claims.mark_failed(session, row_id, self.worker, error=why)
                self.settled.add(row_id)
            unsent = [row_id for row_id in by_id(self.rows) if row_id not in self.settled]
            for row_id in unsent:
                claims.mark_retry(
                    session,
                    row_id,
                    self.worker,
                    real=clock.real_now(),
                    tried=False,
                    error=self.unsent_error,
                    max_attempts=self.settings.reminder_max_attempts,
                )
        if unsent:
            report.retrying += len(unsent)
            report.errors.append(self.unsent_error)


def _retry(
    item: Outgoing,
    batch: Batch,
    error: str,
    report: SweepReport,
    refused: dict[str, str] | None = None,
    delivered: list[str] | None = None,
) -> None:
    with session_scope() as session:
        outcome = claims.mark_retry(
            session,
            item.row_id,
            batch.worker,
            real=clock.real_now(),
            error=error,
            max_attempts=batch.settings.reminder_max_attempts,
            refused=refused,
            delivered=delivered,
        )
    batch.settled.add(item.row_id)
    if outcome == "failed":
        report.failed += 1
    elif outcome == "retry":
        report.retrying += 1


def _record_sent(item: Outgoing, refused: dict[str, str], batch: Batch, report: SweepReport) -> None:
    connection = batch.recorder()
    with connection.begin():
        done = claims.mark_sent(connection, item.row_id, batch.worker, now=clock.now(), late=item.late, refused=refused)
    if done:
        report.sent += 1
        report.late += item.late


async def _deliver(batch: Batch, way: Route, report: SweepReport) -> bool:
    """Send a batch over one connection, rendering the next message while the server answers the last.
    True when the server is unusable and the sweep should stop."""
    connection = way.connection()
    try:
        await connection.open()
    except (LoginFailed, ConnectionLost, TransientFailure, PermanentFailure) as exc:
        batch.unsent_error = str(exc)
        return True
    queue: asyncio.Queue[Outgoing | None] = asyncio.Queue(maxsize=2)
    failure: list[Exception] = []

    async def produce() -> None:
        try:
            for row in batch.rows:
                item = batch.prepare(row)
                if item is not None:
                    await queue.put(item)
                await asyncio.sleep(0)  # let the sender read the server's reply
        except Exception as exc:  # noqa: BLE001 - re-raised by the sender below
            failure.append(exc)
        await queue.put(None)

    producer = asyncio.create_task(produce())
    reconnects = 0
    try:
        while (item := await queue.get()) is not None:
            try:
                _reply, refused = await connection.send(item.envelope)
            except TransientFailure as exc:  # 4xx, or a main recipient refused with 4xx
                _retry(item, batch, str(exc), report, exc.refused, exc.delivered)
                continue
            except PermanentFailure as exc:  # 5xx, or a main recipient refused with 5xx (copies may have gone)
                with session_scope() as session:
                    report.failed += claims.mark_failed(
                        session, item.row_id, batch.worker, error=str(exc), refused=exc.refused
                    )
                batch.settled.add(item.row_id)
                continue
            except ConnectionLost as exc:
                _retry(item, batch, f"connection lost: {exc}", report)
                reconnects += 1
                try:
                    if reconnects > MAX_RECONNECTS:
                        raise ConnectionLost(f"gave up after {MAX_RECONNECTS} reconnections: {exc}") from exc
                    await connection.close()
                    connection = way.connection()
                    await connection.open()
                except (LoginFailed, ConnectionLost, TransientFailure, PermanentFailure) as again:
                    batch.unsent_error = str(again)
                    return True
                continue
            batch.settled.add(item.row_id)
            _record_sent(item, refused, batch, report)  # before the next message goes out
        if failure:
            raise failure[0]
        return False
    finally:
        producer.cancel()
        with suppress(asyncio.CancelledError):
            await producer
        await connection.close()


async def sweep(*, worker: str | None = None, max_batches: int | None = None) -> SweepReport:
    """Send every reminder that is due now, batch by batch, until none is left or the server is unusable.
    A batch that claims nothing because every row in it was superseded (after downtime, hundreds of older
    reminders give way to the latest) does not end the sweep: the rows due after them go now, not a minute later.
    `max_batches` counts batches that claimed something to send."""
    settings = get_settings()
    worker = worker or worker_name()
    lease = timedelta(seconds=settings.reminder_claim_lease_seconds)
    report = SweepReport()
    batches = 0
    with ExitStack() as stack:
        way: Route | None = None
        while (max_batches is None or batches < max_batches) and not _stop_after_batch.is_set():
            now = clock.now()
            with session_scope() as session:
                claimed = claims.claim_batch(
                    session,
                    worker=worker,
                    now=now,
                    real=clock.real_now(),
                    limit=settings.reminder_batch_size,
                    lease=lease,
                    sender=settings.mail_from,
                )
            report.skipped += claimed.skipped
            if not claimed.found:
                break
            if not claimed.ids:
                continue  # all superseded (now skipped) or taken by another sweep: the next rows may be due
            batches += 1
            if way is None:
                way = stack.enter_context(route(settings))
            with read_session() as session:
                batch = Batch(session, claimed.ids, worker, now, settings)
                try:
                    stop = await _deliver(batch, way, report)
                finally:
                    batch.close(report)
            if stop:
                break
    return report
