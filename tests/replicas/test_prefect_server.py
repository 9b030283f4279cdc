"""With PREFECT_API_URL set, flows run against a long-lived Prefect server, and `consultrack worker` puts the sweep
and the digest there as deployments on a schedule, whose runs it executes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from models.db import dispose_engines, read_session, session_scope
from tests.replicas.fleet import PrefectServer

pytestmark = pytest.mark.slow
CONSULTRACK = [sys.executable, "-m", "consultrack"]
STARTED = datetime(2024, 12, 2, 9, 0, tzinfo=ZoneInfo("Asia/Seoul"))


@pytest.fixture
def due_reminders(neaspec: str) -> int:
    """The kick-off stage started: its start notices (to the SOM delegate and the secretariat) are due."""
    from models.enums import ReminderStatus
    from models.lifecycle import start_stage
    from models.reminder import Reminder
    from notifications.reminders.planner import replan_key

    with session_scope() as session:
        start_stage(session, neaspec, "som27-kickoff", actor="test", now=STARTED)
        replan_key(session, neaspec, STARTED)
    with read_session() as session:
        due = len(
            session.exec(
                select(Reminder.id).where(Reminder.status == ReminderStatus.PENDING, Reminder.send_at <= STARTED)
            ).all()
        )
    dispose_engines()
    assert due >= 2
    return due


@pytest.fixture
def env(data_dir: Path, prefect_api: PrefectServer) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {
        **base,
        "CONSULTRACK_DATA_DIR": str(data_dir),
        "CONSULTRACK_NOW": "2024-12-02T09:05:00+09:00",
        "CONSULTRACK_SCHEDULER": "prefect",
        "PREFECT_API_URL": prefect_api.api_url,
        "PREFECT_HOME": str(data_dir / "prefect-client"),
    }


def api(server: PrefectServer, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.post(f"{server.api_url}{path}", json=body or {}, timeout=10)
    response.raise_for_status()
    return response.json()


def eventually(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


def mailbox(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "mailbox").glob("*.eml"))


def test_a_cli_flow_runs_on_the_long_lived_server(
    env: dict[str, str], prefect_api: PrefectServer, due_reminders: int, data_dir: Path
) -> None:
    def sweeps() -> set[str]:
        return {
            r["id"]
            for r in api(
                prefect_api,
                "/flow_runs/filter",
                {
                    "flows": {"name": {"any_": ["sweep-reminders"]}},
                    "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
                },
            )
        }

    before = sweeps()
    done = subprocess.run([*CONSULTRACK, "remind", "run"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"sent {due_reminders} " in done.stdout
    assert len(sweeps() - before) == 1, "the run is recorded by the long-lived server"
    assert len(mailbox(data_dir)) == due_reminders


@pytest.fixture
def worker(env: dict[str, str], data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = data_dir / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*CONSULTRACK, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_the_worker_serves_the_sweep_and_the_digest_on_a_schedule(
    worker: subprocess.Popen[bytes], prefect_api: PrefectServer, due_reminders: int, data_dir: Path
) -> None:
    from models.enums import ReminderStatus
    from models.reminder import Reminder

    def deployments() -> dict[str, Any]:
        assert worker.poll() is None, (data_dir / "worker.log").read_text()
        return {d["name"]: d for d in api(prefect_api, "/deployments/filter")}

    found = eventually(
        lambda: (d := deployments()) and {"every-minute", "daily"} <= set(d) and d, 90, "the worker's deployments exist"
    )
    sweep, digest = found["every-minute"], found["daily"]
    assert [s["schedule"]["interval"] for s in sweep["schedules"]] == [60.0]
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in digest["schedules"]] == [
        ("0 8 * * *", "Asia/Seoul")
    ]
    assert sweep["global_concurrency_limit"]["limit"] == 1

    # The server's scheduler puts the next runs of each schedule on its calendar (it needs its own environment).
    assert prefect_api.own_environment, "deploy/prefect-server-env could not be built: the scheduler cannot work"
    eventually(
        lambda: api(
            prefect_api,
            "/flow_runs/filter",
            {"deployments": {"id": {"any_": [sweep["id"]]}}, "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}},
        ),
        60,
        "scheduled runs of the sweep",
    )

    # A run of the deployment, asked for now, is picked up and executed by the worker: the reminders go out.
    run = httpx.post(f"{prefect_api.api_url}/deployments/{sweep['id']}/create_flow_run", json={}, timeout=10).json()
    state = eventually(
        lambda: (
            (s := api(prefect_api, "/flow_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})[0]["state_type"])
            in ("COMPLETED", "FAILED", "CRASHED")
            and s
        ),
        120,
        "the run finished",
    )
    assert state == "COMPLETED"
    assert len(mailbox(data_dir)) == due_reminders
    with read_session() as session:
        statuses = session.exec(select(Reminder.status).where(Reminder.send_at <= STARTED)).all()
    assert statuses == [ReminderStatus.SENT] * due_reminders
