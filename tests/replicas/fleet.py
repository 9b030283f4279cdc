"""What the replica tests and bench/replicas.py share: a crowd of reminders planned through the real planner, an
SMTP server on loopback that counts every message it is handed (duplicates included), and replicas as OS processes.

A replica is `consultrack remind run` in a process of its own, as the service's scheduler or a Prefect worker would
run it; several of them against one database must together deliver each reminder exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from aiosmtpd.controller import Controller

from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR

ROOT = Path(__file__).resolve().parents[2]
CONSULTRACK = str(Path(sys.executable).parent / "consultrack")
PROCESS, STAGE = "neaspec-sp-2026-2030", "som27-kickoff"
ACTOR = "minji.secretariat@example.org"
# The kick-off stage starts at this instant: its start notice is due to every SOM delegate at once.
STARTED = datetime(2024, 12, 2, 9, 0, tzinfo=ZoneInfo("Asia/Seoul"))
SWEEP_AT = STARTED + timedelta(minutes=1)


def plan_crowd(delegates: int) -> int:
    """The sample directory plus `delegates` SOM delegates, the NEASPEC process, and its first stage started: the
    planner derives one start notice per delegate (and per secretariat member). Returns how many rows are due."""
    from sqlmodel import func, select

    from models.db import session_scope
    from models.directory import Person
    from models.directory_import import import_directory, read_directory
    from models.enums import ReminderStatus, Role
    from models.lifecycle import start_stage
    from models.processes import create_process
    from models.reminder import Reminder
    from models.template import load_template
    from notifications.reminders.planner import replan_key

    with session_scope() as session:
        import_directory(
            session, read_directory(DIRECTORY_SAMPLES_DIR / "sample.yaml"), source="sample", actor=ACTOR, now=STARTED
        )
        session.add_all(
            Person(
                name=f"Delegate {n:05d}",
                email=f"delegate.{n:05d}@example.org",
                role=Role.SOM_DELEGATE,
                member_state_code="KR",
            )
            for n in range(delegates)
        )
        create_process(session, load_template(PROCESS_TEMPLATES_DIR / f"{PROCESS}.yaml"), actor=ACTOR, now=STARTED)
    with session_scope() as session:
        start_stage(session, PROCESS, STAGE, actor=ACTOR, now=STARTED)
        replan_key(session, PROCESS, STARTED)
    with session_scope() as session:
        due = session.exec(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.status == ReminderStatus.PENDING, Reminder.send_at <= SWEEP_AT)
        ).one()
    return int(due)


class CountingHandler:
    """Keeps the Message-ID of every message handed over, so a duplicate shows up as a count of two, and when the
    first and the last arrived (the dispatch window, without the replicas' start-up)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: Counter[str] = Counter()
        self.first: float | None = None
        self.last: float | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        from email.parser import BytesHeaderParser

        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        with self.lock:
            self.message_ids[str(headers.get("Message-ID", ""))] += 1
            self.last = time.monotonic()
            self.first = self.first or self.last
        return "250 2.0.0 counted"

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.message_ids)


class CountingSink:
    """`with CountingSink() as sink:` an SMTP server on a free loopback port; `sink.port`, `sink.handler`."""

    def __init__(self) -> None:
        self.handler = CountingHandler()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=0, server_hostname="replica-sink")

    @property
    def port(self) -> int:
        return int(self._controller.server.sockets[0].getsockname()[1])

    def __enter__(self) -> CountingSink:
        from notifications.mail.sink import free_port

        self._controller.port = free_port()
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def replica_env(
    data_dir: Path, database_url: str | None, smtp_port: int, prefect_api_url: str | None, prefect_home: Path
) -> dict[str, str]:
    """The environment of one replica: the shared database and SMTP server, a Prefect home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULTRACK_", "PREFECT_"))}
    env.update(
        {
            "CONSULTRACK_DATA_DIR": str(data_dir),
            "CONSULTRACK_NOW": SWEEP_AT.isoformat(),
            "CONSULTRACK_MAIL_SINK": "false",
            "CONSULTRACK_SMTP_HOST": "127.0.0.1",
            "CONSULTRACK_SMTP_PORT": str(smtp_port),
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    if database_url:
        env["CONSULTRACK_DATABASE_URL"] = database_url
    if prefect_api_url:
        env["PREFECT_API_URL"] = prefect_api_url
    return env


def start_replicas(count: int, env_of: Any, log_dir: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """`count` sweeping replicas, started together; each logs to a file of its own."""
    started = []
    for n in range(count):
        log = log_dir / f"replica-{n}.log"
        handle = log.open("wb")
        started.append(
            (
                subprocess.Popen(
                    [CONSULTRACK, "remind", "run"], env=env_of(n), cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT
                ),
                log,
            )
        )
        handle.close()
    return started


def start_services(count: int, env_of: Any, log_dir: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """`count` replicas of the whole service (`consultrack serve`, APScheduler sweeping every minute and once at
    start-up), each on a port of its own."""
    from notifications.mail.sink import free_port

    started = []
    for n in range(count):
        port, log = free_port(), log_dir / f"service-{n}.log"
        env = {**env_of(n), "CONSULTRACK_BASE_URL": f"http://127.0.0.1:{port}"}
        with log.open("wb") as handle:
            started.append(
                (
                    subprocess.Popen(
                        [CONSULTRACK, "serve", "--host", "127.0.0.1", "--port", str(port)],
                        env=env,
                        cwd=ROOT,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                    ),
                    log,
                )
            )
    return started


def wait_all(replicas: list[tuple[subprocess.Popen[bytes], Path]], timeout: float) -> list[str]:
    """Wait for every replica; their output, in order. A replica that fails or hangs fails the caller."""
    outputs = []
    for process, log in replicas:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other, _ in replicas:
                other.kill()
            raise
        text = log.read_text(errors="replace")
        if process.returncode != 0:
            raise RuntimeError(f"replica exited with {process.returncode}:\n{text[-3000:]}")
        outputs.append(text)
    return outputs


@dataclass(frozen=True)
class PrefectServer:
    api_url: str
    own_environment: bool
    """True when the server runs from deploy/prefect-server-env (whose SQLAlchemy lets its scheduler work)."""
    log: Path


def _prefect_binary() -> tuple[str, bool]:
    done = subprocess.run(
        [str(ROOT / "deploy" / "prefect-server-env")], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if done.returncode == 0 and done.stdout.strip():
        return str(Path(done.stdout.strip().splitlines()[-1]) / "bin" / "prefect"), True
    return str(Path(sys.executable).parent / "prefect"), False


@contextmanager
def running_prefect_server(home: Path) -> Iterator[PrefectServer]:
    """`prefect server start` on a free loopback port, as deploy/up runs it (on SQLite in `home` here)."""
    from notifications.mail.sink import free_port

    binary, own = _prefect_binary()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CONSULTRACK_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_UI_ENABLED="false",
    )
    log = home / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [binary, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield PrefectServer(url, own, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
