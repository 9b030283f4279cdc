"""What the two reminder benchmarks share: a throwaway data directory with the NEASPEC process standing on
3 March 2025 (outline-feedback active), many focal points, and the local mail sink in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
P = "neaspec-sp-2026-2030"
ACTOR = "bench@example.org"


def seoul(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Seoul"))


def fresh_data_dir(database_url: str | None = None) -> Path:
    """Point the settings at a new data directory (and database), migrated; mail goes to SMTP, not the sink."""
    directory = Path(tempfile.mkdtemp(prefix="consultrack-bench-"))
    os.environ["CONSULTRACK_DATA_DIR"] = str(directory)
    os.environ["CONSULTRACK_MAIL_SINK"] = "false"
    if database_url:
        os.environ["CONSULTRACK_DATABASE_URL"] = database_url
    from config.settings import reset_settings

    reset_settings()
    from models.db import migrate

    migrate()
    return directory


def march_with_focal_points(people: int) -> tuple[int, list[int]]:
    """The process on 3 March 2025 with `people` focal points; returns the active stage's id and their ids."""
    from sqlmodel import select

    from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR
    from models import lifecycle, meetings
    from models.db import session_scope
    from models.directory import Person
    from models.directory_import import import_directory, read_directory
    from models.enums import MeetingStatus, Role
    from models.gates import GateInputs
    from models.process import Stage
    from models.processes import create_process
    from models.template import load_template

    with session_scope() as s:
        at = seoul("2024-12-01 09:00")
        import_directory(s, read_directory(DIRECTORY_SAMPLES_DIR / "sample.yaml"), source="bench", actor=ACTOR, now=at)
        create_process(s, load_template(PROCESS_TEMPLATES_DIR / f"{P}.yaml"), actor=ACTOR, now=at)
    with session_scope() as s:
        lifecycle.start_stage(s, P, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-13 10:00"))
        meetings.set_meeting_status(s, P, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=seoul("2024-12-16 09:00"))
        lifecycle.advance_stage(s, P, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-16 10:00"))
        lifecycle.open_ready_stages(s, P, now=seoul("2025-01-01 09:00"))
        lifecycle.advance_stage(
            s,
            P,
            "annotated-outline",
            actor=ACTOR,
            now=seoul("2025-03-03 10:00"),
            inputs=GateInputs(approver="minji.secretariat@example.org", note="bench"),
        )
        codes = ["CN", "KP", "JP", "MN", "KR", "RU"]
        for n in range(people):
            s.add(
                Person(
                    name=f"Focal Point {n}",
                    email=f"fp{n}@example.org",
                    role=Role.FOCAL_POINT,
                    member_state_code=codes[n % 6],
                )
            )
        s.flush()
        stage_id = s.exec(select(Stage.id).where(Stage.key == "outline-feedback")).one()
        ids = list(s.exec(select(Person.id).where(Person.email.like("fp%@example.org")).order_by(Person.id)).all())
    return stage_id, ids  # type: ignore[return-value]


def add_due_rows(stage_id: int, people: list[int], send_at: datetime, occurrence: int) -> None:
    """One due 'before' reminder per person (inserted directly: the benchmark measures sending, not planning)."""
    from models.db import session_scope
    from models.reminder import Reminder

    with session_scope() as s:
        s.add_all(
            [
                Reminder(
                    stage_id=stage_id,
                    person_id=p,
                    rule="before",
                    occurrence=occurrence,
                    offset_days=-occurrence,
                    send_at=send_at,
                    due_date_seen=date(2025, 3, 31),
                )
                for p in people
            ]
        )


@contextmanager
def sink_process(mailbox: Path) -> Iterator[int]:
    """The local mail sink in its own process, so that it does not share this one's interpreter."""
    from notifications.mail.sink import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications.mail.sink", "--mailbox", str(mailbox), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "mail sink on ..."
    os.environ["CONSULTRACK_SMTP_PORT"] = str(port)
    from config.settings import reset_settings

    reset_settings()
    try:
        yield port
    finally:
        process.terminate()
        process.wait(10)


def timed(label: str, seconds: float, count: int) -> str:
    return f"{label:<44} {seconds:8.3f} s   {count / seconds:9.1f} /s"


def now_ms() -> float:
    return time.perf_counter()
