"""Command-line changes without a service reuse one Prefect server kept for their data directory
(flows/kept_server.py): real `consultrack` processes, each test's own server stopped in its teardown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from tests.conftest import ACTOR
from tests.prefect_processes import prefect_servers_of, wait_until

pytestmark = pytest.mark.slow
P = "neaspec-sp-2026-2030"
NOW = "2024-12-13T09:00:00+09:00"


def ours(home: Path) -> list[int]:
    """Every live process of `home`'s kept server: the watchdog and the server (both run with its Prefect home)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0") if entry.name.isdigit() else []
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] if environ else "X"
        except (OSError, IndexError):
            continue
        if (
            f"PREFECT_HOME={home}".encode() in environ
            and b"PREFECT__SERVER_EPHEMERAL=1" in environ
            and state not in ("Z", "X")
        ):
            found.append(int(entry.name))
    return found


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the kept server is the same whichever database the data directory names, and each of these
    tests starts real Prefect servers (minutes of CI time per backend)."""
    return f"sqlite:///{tmp_path / 'data' / 'consultrack.db'}"


@pytest.fixture
def home(neaspec: str, data_dir: Path) -> Iterator[Path]:
    """The Prefect home of a data directory holding the NEASPEC process; whatever server was kept for it is stopped
    afterwards, and none of its processes may be left."""
    prefect_home = (data_dir / "prefect").resolve()
    yield prefect_home
    for pid in ours(prefect_home):
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not ours(prefect_home), 20)
    for pid in ours(prefect_home):
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not ours(prefect_home), 10), "a kept Prefect server outlived its test"


def cli(home: Path, *args: str, idle: str = "600") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        {
            "CONSULTRACK_DATA_DIR": str(home.parent),
            "PREFECT_HOME": str(home),
            "CONSULTRACK_NOW": NOW,
            "CONSULTRACK_PREFECT_IDLE_SECONDS": idle,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "consultrack", *args, "--actor", ACTOR],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def recorded(home: Path) -> dict[str, object]:
    return dict(json.loads((home / "server.json").read_text()))


def run_names(home: Path) -> list[tuple[str, str]]:
    """(name, state) of the runs in the kept server's history."""
    answer = httpx.post(f"http://127.0.0.1:{recorded(home)['port']}/api/flow_runs/filter", json={}, timeout=30)
    return sorted((run["name"], run["state_type"]) for run in answer.json())


def audited(action: str) -> list[str]:
    from models.audit import AuditEntry
    from models.db import read_session

    with read_session() as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == action)).all()
    return sorted(entry.stage_key or "" for entry in entries)


def test_commands_share_one_kept_server_with_their_history_and_it_stops_when_idle(home: Path) -> None:
    started = cli(home, "stage", "start", "som27-kickoff")
    assert started.returncode == 0, started.stderr
    first = recorded(home)
    assert first["kept"] == 600 and prefect_servers_of(home) == [first["pid"]]
    assert ours(home) == sorted([first["pid"], first["owner"]])  # the server and its watchdog, nothing else

    skipped = cli(home, "stage", "skip", "drafting", "--reason", "not this time")
    assert skipped.returncode == 0, skipped.stderr
    assert recorded(home) == first and prefect_servers_of(home) == [first["pid"]]
    assert run_names(home) == [(f"{P}: skip drafting", "COMPLETED"), (f"{P}: start som27-kickoff", "COMPLETED")]

    past = time.time() - 601  # nobody has used it for longer than the idle time
    os.utime(home / "server.json", (past, past))
    assert wait_until(lambda: not ours(home), 30), "the idle server was not stopped"
    assert not (home / "server.json").exists()


def test_two_commands_started_at_once_start_one_server_and_write_once_each(home: Path) -> None:
    barrier = threading.Barrier(2)
    results: dict[str, subprocess.CompletedProcess[str]] = {}

    def skip(stage: str) -> None:
        barrier.wait()
        results[stage] = cli(home, "stage", "skip", stage, "--reason", "at once")

    threads = [threading.Thread(target=skip, args=(stage,)) for stage in ("drafting", "consultations")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result.returncode == 0 for result in results.values()), {k: r.stderr for k, r in results.items()}
    assert len(prefect_servers_of(home)) == 1 and prefect_servers_of(home) == [recorded(home)["pid"]]
    assert audited("stage.skip") == ["consultations", "drafting"]
    assert [name for name, _ in run_names(home)] == [f"{P}: skip consultations", f"{P}: skip drafting"]


def test_a_server_recorded_by_a_killed_command_is_replaced(home: Path) -> None:
    with subprocess.Popen(["true"]) as gone:
        pass
    home.mkdir(parents=True, exist_ok=True)
    (home / "server.json").write_text(
        json.dumps(
            {"pid": gone.pid, "port": 9, "owner": gone.pid, "owner_started": None, "home": str(home), "kept": 600}
        )
    )
    done = cli(home, "stage", "start", "som27-kickoff")
    assert done.returncode == 0, done.stderr
    now = recorded(home)
    assert now["pid"] != gone.pid and prefect_servers_of(home) == [now["pid"]]


def test_a_service_starting_takes_over_once_the_command_using_the_kept_server_is_done(home: Path) -> None:
    from flows import prefect_server

    assert cli(home, "stage", "start", "som27-kickoff").returncode == 0
    kept = recorded(home)
    using = prefect_server.hold_in_use(home)  # a command still running on the kept server
    threading.Timer(3, using.close).start()
    began = time.monotonic()
    server = prefect_server.start(home)
    try:
        assert time.monotonic() - began >= 3, "the kept server was stopped under a command using it"
        assert server.pid != kept["pid"] and prefect_servers_of(home) == [server.pid]
        assert kept["owner"] not in ours(home)
        assert recorded(home)["owner"] == os.getpid() and "kept" not in recorded(home)
    finally:
        prefect_server.stop(server)


def test_a_read_only_data_directory_is_refused_in_one_line(home: Path) -> None:
    directory = home.parent
    command = [sys.executable, "-m", "consultrack", "stage", "skip", "drafting", "--reason", "x", "--actor", ACTOR]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"CONSULTRACK_DATA_DIR": str(directory), "PREFECT_HOME": str(home), "CONSULTRACK_NOW": NOW})
    mount_read_only = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", mount_read_only, str(directory), "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("cannot mount a read-only directory here (needs unshare and mount privileges)")
    refused = subprocess.run(
        ["unshare", "-m", "sh", "-c", mount_read_only, str(directory), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1, refused.stderr[-3000:]
    (said,) = refused.stderr.splitlines()
    assert said.startswith(f"error: cannot write {directory}") and said.endswith(
        ": make the data directory writable by this user, or point CONSULTRACK_DATA_DIR at one"
    )
    assert audited("stage.skip") == [] and not ours(home)
