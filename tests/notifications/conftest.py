"""Fixtures for the reminder tests: the NEASPEC process standing in March 2025 with its reminders planned, and
a real SMTP server on loopback that the tracker is pointed at."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from config import clock
from config.settings import reset_settings
from models import lifecycle, meetings
from models.db import read_session, session_scope
from models.directory import Person
from models.enums import MeetingStatus
from models.gates import GateInputs
from models.process import Stage
from models.reminder import Reminder
from notifications.reminders.planner import replan_key
from tests.conftest import ACTOR, NEASPEC, seoul
from tests.notifications.smtp_server import Faults, Server


@pytest.fixture(autouse=True)
def sweeps_resume() -> Iterator[None]:
    """A service stopped in one test leaves the process-wide "stop after this batch" flag set: clear it, or
    every later sweep in the session sends nothing."""
    yield
    from notifications.reminders.sweep import resume

    resume()


def change(at: datetime, operation: Callable[..., object]) -> None:
    """Apply a rule and re-derive the reminders in one transaction, as the flows do."""
    with session_scope() as session:
        operation(session, at)
        replan_key(session, NEASPEC, at)


@pytest.fixture
def march(neaspec: str) -> str:
    """outline-feedback active since 3 March 2025 10:00 Seoul (due 31 March), reminders planned."""
    change(
        seoul("2024-12-13 10:00"), lambda s, at: lifecycle.start_stage(s, NEASPEC, "som27-kickoff", actor=ACTOR, now=at)
    )
    change(
        seoul("2024-12-16 08:00"),
        lambda s, at: meetings.set_meeting_status(s, NEASPEC, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=at),
    )
    change(
        seoul("2024-12-16 10:00"),
        lambda s, at: lifecycle.advance_stage(s, NEASPEC, "som27-kickoff", actor=ACTOR, now=at),
    )
    change(seoul("2025-01-01 09:00"), lambda s, at: lifecycle.open_ready_stages(s, NEASPEC, now=at))
    change(
        seoul("2025-03-03 10:00"),
        lambda s, at: lifecycle.advance_stage(
            s, NEASPEC, "annotated-outline", actor=ACTOR, now=at, inputs=GateInputs(approver=ACTOR, note="done")
        ),
    )
    return neaspec


def respond(code: str, at: str) -> None:
    moment = seoul(at)
    change(
        moment,
        lambda s, now: lifecycle.record_response(
            s, NEASPEC, "outline-feedback", code, received_on=moment.date(), actor=ACTOR, now=now
        ),
    )


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Server]]:
    """Start a recording SMTP server and point the settings at it (the sink is switched off)."""
    servers: list[Server] = []

    def start(faults: Faults | None = None, **options: object) -> Server:
        server = Server(faults, **options)  # type: ignore[arg-type]
        server.__enter__()
        servers.append(server)
        monkeypatch.setenv("CONSULTRACK_MAIL_SINK", "false")
        monkeypatch.setenv("CONSULTRACK_SMTP_PORT", str(server.port))
        reset_settings()
        return server

    yield start
    for server in servers:
        server.__exit__()
    reset_settings()


def rows(**where: object) -> list[Reminder]:
    with read_session() as session:
        query = select(Reminder).order_by(Reminder.send_at, Reminder.id)
        for name, value in where.items():
            query = query.where(getattr(Reminder, name) == value)
        return list(session.exec(query).all())


def emails_of(reminders: list[Reminder]) -> list[str]:
    with read_session() as session:
        return sorted(session.get(Person, r.person_id).email for r in reminders)  # type: ignore[union-attr]


def stage_id(key: str) -> int:
    with read_session() as session:
        return session.exec(select(Stage.id).where(Stage.key == key)).one()  # type: ignore[return-value]


async def sweep_at(text: str, **kwargs: object) -> object:
    from notifications.reminders.sweep import sweep

    with clock.frozen(seoul(text)):
        return await sweep(**kwargs)  # type: ignore[arg-type]


async def sweep_after_backoff(text: str, minutes: int = 1, **kwargs: object) -> object:
    """A sweep at business time `text` once `minutes` of backoff have passed on the real clock (a retry's
    next_attempt_at is a real instant: moving the business clock on does not shorten it)."""
    with clock.real_time_passed(timedelta(minutes=minutes, seconds=1)):
        return await sweep_at(text, **kwargs)


def mailbox_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "mailbox").glob("*.eml"))


FOCAL = [
    "anna.volkova@example.org",
    "li.wei@example.org",
    "park.jiwoo@example.org",
    "ri.song@example.org",
    "sato.yuki@example.org",
    "tsetseg.b@example.org",
]
DUE = date(2025, 3, 31)
