"""`consultrack serve` as a real process: /healthz, the CLI going through it, the e-mail a transition causes
reaching the local mail sink within seconds, and a graceful stop on SIGTERM that leaves no batch half-sent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from config import clock
from notifications.mail.sink import free_port as free_loopback_port
from tests.web.conftest import ADMIN, PROCESS

pytestmark = pytest.mark.slow
CONSULTRACK = [sys.executable, "-m", "consultrack"]


def free_port() -> int:
    from consultrack.service import bind

    with bind("127.0.0.1", 0) as sock:
        return int(sock.getsockname()[1])


@pytest.fixture
def service(accounts: dict[str, str], data_dir: Path) -> Iterator[dict[str, Any]]:
    from models.db import session_scope
    from models.token_rules import issue_api_token

    with session_scope() as session:
        token = issue_api_token(session, ADMIN, label="test", actor="test", now=clock.now()).secret
    port = free_port()
    env = {
        **os.environ,
        "CONSULTRACK_DATA_DIR": str(data_dir),
        "CONSULTRACK_NOW": clock.now().isoformat(),
        "CONSULTRACK_BASE_URL": f"http://127.0.0.1:{port}",
        "CONSULTRACK_API_TOKEN": token,
        "PREFECT_HOME": str(data_dir / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    log = data_dir / "serve.log"
    url = f"http://127.0.0.1:{port}"
    process = start_serve(env, url, log)
    started = {"url": url, "env": env, "process": process, "log": log, "token": token}
    yield started
    for running in (process, started["process"]):
        if running.poll() is None:
            running.kill()
            running.wait(10)


def start_serve(env: dict[str, str], url: str, log: Path) -> subprocess.Popen[bytes]:
    """`consultrack serve` as a process, once its /healthz says Prefect is up."""
    with log.open("a") as out:
        process = subprocess.Popen([*CONSULTRACK, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).json().get("prefect", {}).get("ok"):
                return process
        except (httpx.HTTPError, ValueError):
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.5)
    process.kill()
    pytest.fail("the service did not start: " + log.read_text())


def cli(service: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONSULTRACK, *args], env=service["env"], capture_output=True, text=True, timeout=120)


def test_serve(service: dict[str, Any], data_dir: Path) -> None:
    from models.audit import AuditEntry
    from models.db import read_session
    from models.enums import ReminderStatus
    from models.reminder import Reminder

    url = service["url"]
    public = httpx.get(f"{url}/healthz").json()  # a monitor learns what works, not where or why
    assert public["ok"] is True and all(public[c] == {"ok": True} for c in ("scheduler", "prefect", "mail"))
    assert set(public["database"]) == {"ok", "id"} and str(service["env"]["CONSULTRACK_DATA_DIR"]) not in str(public)
    health = httpx.get(f"{url}/healthz", headers={"Authorization": f"Bearer {service['token']}"}).json()
    assert health["ok"] is True
    assert health["scheduler"]["running"]
    assert {"reminder-sweep", "daily-digest"} <= set(health["scheduler"]["next_runs"])
    assert health["prefect"]["ok"] and health["mail"]["ok"]
    printed = service["log"].read_text()
    assert f"dashboard  {url}/" in printed and f"API docs   {url}/docs" in printed

    # The CLI sends its change through the service: the audit names the token's account, not --actor. It runs as
    # from another terminal, without the demo's CONSULTRACK_NOW: the date received is the service's today.
    started = time.perf_counter()
    elsewhere = {k: v for k, v in service["env"].items() if k != "CONSULTRACK_NOW"}
    args = [*CONSULTRACK, "response", "record", "outline-feedback", "JP", "--actor", "local-user"]
    done = subprocess.run(args, env=elsewhere, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"({clock.today('Asia/Seoul').isoformat()})" in done.stdout  # the business clock of the service
    assert time.perf_counter() - started < 8, "no Prefect start-up in the CLI process"
    refused = cli(service, "stage", "advance", "outline-feedback")
    assert refused.returncode != 0 and "waiting for responses from" in refused.stderr
    with read_session() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "response.record").order_by(AuditEntry.id.desc())
        ).first()  # type: ignore[union-attr]
    assert entry is not None and entry.actor == ADMIN

    headers = {"Authorization": f"Bearer {service['token']}"}
    base = f"{url}/api/processes/{PROCESS}/stages/outline-feedback"
    for code in ("MN", "KP"):
        assert httpx.post(f"{base}/responses", json={"member_state": code}, headers=headers).status_code == 200
    advanced = httpx.post(f"{base}/advance", json={}, headers=headers, timeout=60)
    assert advanced.status_code == 200 and advanced.json()["started"] == []  # consultations opens on 1 April
    # The secretariat starts it early, on purpose (its predecessors are done: no override needed).
    consultations = f"{url}/api/processes/{PROCESS}/stages/consultations/start"
    early = httpx.post(consultations, json={}, headers=headers, timeout=60)
    assert early.status_code == 200 and early.json()["state"] == "active", early.text

    # The stage that started sends its notices: the sweep is woken, they reach the sink within seconds.
    mailbox = data_dir / "mailbox"
    deadline = time.monotonic() + 30
    subjects: list[str] = []
    while time.monotonic() < deadline and not any("Consultations" in s for s in subjects):
        subjects = [p.read_text(errors="replace") for p in mailbox.glob("*.eml")] if mailbox.is_dir() else []
        time.sleep(0.5)
    assert any("Consultations" in s for s in subjects), "no e-mail about the started stage"

    process = service["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert "consultrack stopped" in service["log"].read_text()
    with read_session() as session:
        rows = session.exec(select(Reminder)).all()
    assert not [r for r in rows if r.status is ReminderStatus.SENDING], "a batch was left half-sent"
    names = {p.name for p in mailbox.glob("*.eml")}
    for row in rows:
        if row.status is ReminderStatus.SENT and row.message_id:
            assert any(row.message_id.strip("<>").split("@")[0] in name for name in names)


def test_cli_runs_locally_when_no_service_answers(accounts: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import reset_settings
    from consultrack.client import running_service

    monkeypatch.setenv("CONSULTRACK_BASE_URL", f"http://127.0.0.1:{free_port()}")
    reset_settings()
    assert running_service() is None


def test_cli_ignores_a_service_without_prefect_or_on_another_database(
    live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-thread test server has no Prefect of its own: the CLI must not hand it changes."""
    from config.settings import reset_settings
    from consultrack.client import running_service

    monkeypatch.setenv("CONSULTRACK_BASE_URL", live_server)
    reset_settings()
    health = httpx.get(f"{live_server}/healthz").json()
    assert health["database"]["ok"] and not health["prefect"]["ok"]
    assert running_service() is None


def test_prefect_scheduler_leaves_the_sweep_to_the_worker(
    data_dir: Path, prefect_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings
    from consultrack.service import Service

    monkeypatch.setenv("CONSULTRACK_SCHEDULER", "prefect")
    reset_settings()

    async def body() -> None:
        service = Service()
        await service.start()
        try:
            assert service.prefect["ok"]
            assert not service.scheduler.running
            assert service.scheduler_health()["ok"] and "consultrack worker" in service.scheduler_health()["detail"]
            await service.wake_sweep()  # nothing to wake: no error, no job
            assert service.scheduler.get_jobs() == []
        finally:
            await service.stop()

    # Its own thread and loop (with this context: Prefect's test harness): the browser tests' Playwright keeps a
    # loop running in the main thread.
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(context.run, asyncio.run, body()).result(timeout=120)


def new_run(api: str, *, pid: int, state: str = "RUNNING") -> str:
    """A flow run under way in the service's own Prefect database, marked as the process `pid` marks its runs."""
    flow_id = patient(lambda: httpx.post(f"{api}/flows/", json={"name": "advance-stage"}, timeout=30)).json()["id"]
    created = patient(
        lambda: httpx.post(
            f"{api}/flow_runs/",
            timeout=30,
            json={"flow_id": flow_id, "name": f"advance under way in {pid}", "state": {"type": state}},
        )
    )
    assert created.status_code in (200, 201), created.text
    run_id = str(created.json()["id"])
    marked = patient(
        lambda: httpx.patch(f"{api}/flow_runs/{run_id}", json={"infrastructure_pid": f"{socket.gethostname()}:{pid}"})
    )
    assert marked.status_code == 204, marked.text
    return run_id


def patient(call: Callable[[], httpx.Response]) -> httpx.Response:
    """Prefect answers 503 while its SQLite database is busy with the service's own runs: ask again, as a client
    of a busy server would."""
    for _ in range(30):
        answer = call()
        if answer.status_code != 503:
            return answer
        time.sleep(0.5)
    return answer


def run_state(api: str, run_id: str) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json()["state"]
    return state


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_kill_9_takes_the_prefect_server_along_and_the_next_start_cleans_up(
    service: dict[str, Any], data_dir: Path
) -> None:
    from tests.prefect_processes import (
        prefect_servers_of,
        prefect_style_command,
        prefect_style_environment,
        wait_healthy,
        wait_until,
    )

    home = data_dir / "prefect"
    process = service["process"]
    recorded = json.loads((home / "server.json").read_text())
    assert recorded["owner"] == process.pid and prefect_servers_of(home) == [recorded["pid"]]
    # What the service made is owner-only: Prefect's home and database, the state file, the session secret and
    # the mailbox (the SQLite file, when there is one, was made by the fixture through models.db).
    for path in (home, data_dir / "mailbox"):
        assert mode(path) == 0o700, path
    private = [
        home / "prefect.db",
        home / "server.json",
        data_dir / "session-secret",
        *[p for p in data_dir.glob("consultrack.db*")],
        *home.glob("prefect.db-*"),
    ]
    assert all(mode(path) == 0o600 for path in private), {str(p): oct(mode(p)) for p in private}

    api = f"http://127.0.0.1:{recorded['port']}/api"
    # The service's own runs are marked with it as their body begins (they run in the service's process)...
    runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=30).json()
    assert {r["infrastructure_pid"] for r in runs if r["name"].startswith("consultrack service started")} == {
        f"{socket.gethostname()}:{process.pid}"
    }
    # ... so one under way at the kill is told from a CLI command's, whose process still runs.
    left_running = new_run(api, pid=process.pid)
    left_pending = new_run(api, pid=process.pid, state="PENDING")
    still_alive = new_run(api, pid=os.getpid())
    process.kill()
    process.wait(10)
    assert wait_until(lambda: not prefect_servers_of(home), 10), "the Prefect server outlived its service"

    # Had the server survived (an older version, a start interrupted), the state file names it and its dead owner.
    stale_port = free_loopback_port()
    stale = subprocess.Popen(
        prefect_style_command(stale_port), env=prefect_style_environment(home), start_new_session=True
    )
    try:
        assert wait_healthy(stale_port)
        (home / "server.json").write_text(json.dumps({**recorded, "pid": stale.pid, "port": stale_port}))
        service["process"] = restarted = start_serve(service["env"], service["url"], service["log"])
        assert stale.wait(15) is not None, "the stale server was left running"
    finally:
        if stale.poll() is None:
            stale.kill()
    now = json.loads((home / "server.json").read_text())
    assert now["owner"] == restarted.pid and prefect_servers_of(home) == [now["pid"]]
    api = f"http://127.0.0.1:{now['port']}/api"
    for run_id in (left_running, left_pending):
        state = run_state(api, run_id)
        assert state["type"] == "CRASHED", state
        assert f"pid {process.pid}" in state["message"] and "audit log" in state["message"]
    assert run_state(api, still_alive)["type"] == "RUNNING"
    health = httpx.get(f"{service['url']}/healthz", headers={"Authorization": f"Bearer {service['token']}"}).json()
    assert (
        health["prefect"]["ok"]
        and health["prefect"]["runs_marked_crashed"] == [f"advance under way in {process.pid}"] * 2
    )

    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(60) == 0
    assert not prefect_servers_of(home) and not (home / "server.json").exists()
