"""The demo: a fresh data directory with the NEASPEC 2026-2030 process, its history replayed up to a day."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from config import clock
from config.settings import DIRECTORY_SAMPLES_DIR, HISTORY_DIR, PROCESS_TEMPLATES_DIR, get_settings
from models.enums import MeetingStatus
from models.yaml_source import load_yaml, validate

PROCESS_KEY = "neaspec-sp-2026-2030"


class HistoryEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    do: Literal["start", "advance", "response", "held"]
    stage: str
    meeting: str | None = None
    """`held`: the meeting the secretariat records held (a meeting gate opens on that record alone)."""
    member_state: str | None = None
    channel: str = "e-mail"
    note: str | None = None
    approver: str | None = None
    proceed_reason: str | None = None


class History(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process: str
    actor: str
    events: list[HistoryEvent]


def load_history(path: Path) -> History:
    data, node = load_yaml(path)
    return validate(History, data, node, path)


def build_demo(until: date, *, reset: bool = True, say: Callable[[str], object] = print) -> None:
    from flows import meetings, setup, stages
    from flows.engine import run
    from models.db import dispose_engines, migrate

    settings = get_settings()
    database = settings.data_dir / "consultrack.db"
    if reset and settings.database_url is None and database.exists():
        dispose_engines()
        for leftover in (database, database.with_name("consultrack.db-wal"), database.with_name("consultrack.db-shm")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(settings.mailbox_dir, ignore_errors=True)
    migrate()
    history = load_history(HISTORY_DIR / f"{PROCESS_KEY}.yaml")
    first = min(e.at for e in history.events)
    with clock.frozen(first):
        run(setup.import_directory_file, path=DIRECTORY_SAMPLES_DIR / "sample.yaml", actor=history.actor)
        run(setup.create_process, template_path=PROCESS_TEMPLATES_DIR / f"{PROCESS_KEY}.yaml", actor=history.actor)
    zone = ZoneInfo("Asia/Seoul")
    end = datetime.combine(until, time(9), tzinfo=zone)
    for event in sorted(history.events, key=lambda e: e.at):
        sweep_reminders_until(min(event.at, end), say)
        if event.at > end:
            break
        with clock.frozen(event.at):
            if event.do == "start":
                run(stages.start_stage, process_key=history.process, stage_key=event.stage, actor=history.actor)
            elif event.do == "advance":
                run(
                    stages.advance_stage,
                    process_key=history.process,
                    stage_key=event.stage,
                    actor=history.actor,
                    approver=event.approver,
                    note=event.note,
                    proceed_reason=event.proceed_reason,
                )
            elif event.do == "held":
                assert event.meeting
                run(
                    meetings.set_meeting_status,
                    process_key=history.process,
                    meeting_key=event.meeting,
                    status=MeetingStatus.HELD,
                    actor=history.actor,
                )
            else:
                assert event.member_state
                run(
                    stages.record_response,
                    process_key=history.process,
                    stage_key=event.stage,
                    member_state=event.member_state,
                    actor=history.actor,
                    received_on=event.at.astimezone(zone).date(),
                    channel=event.channel,
                    note=event.note or "",
                )
        say(
            f"{event.at.astimezone(zone):%Y-%m-%d %H:%M} {event.do} {event.stage}"
            + (f" ({event.member_state})" if event.member_state else "")
        )
    sweep_reminders_until(end, say)
    clock.set_now(end)


def sweep_reminders_until(moment: datetime, say: Callable[[str], object]) -> None:
    """Run the reminder sweep at each instant a reminder falls due up to `moment`, as the service would. The
    business clock stands on each of those instants; claims and retries keep to the real clock (config/clock.py),
    so a sweep killed during the replay has its claims taken again after the lease, and a reminder waiting for
    another try is left to the service rather than tried again at once in replayed time."""
    from flows import reminders
    from flows.engine import run
    from models.db import read_session
    from models.lifecycle import next_opening
    from notifications.reminders.preview import next_due

    for _ in range(10_000):
        with read_session() as session:
            moments = [next_due(session, moment, clock.real_now()), next_opening(session, moment)]
        due = min((m for m in moments if m is not None), default=None)
        if due is None:
            return
        with clock.frozen(due):
            report = run(reminders.sweep_reminders)
        if report["sent"]:
            say(
                f"{due.astimezone(ZoneInfo('Asia/Seoul')):%Y-%m-%d %H:%M} reminders: {report['sent']} e-mail(s) "
                f"to the local mailbox"
            )
