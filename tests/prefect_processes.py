"""Looking at Prefect API server processes from outside, through /proc, and starting one the way Prefect starts its
own temporary server (as a `serve` of an older version did, with nothing to stop it when its parent dies)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from notifications.mail.sink import free_port


def prefect_servers_of(home: Path) -> list[int]:
    """Live processes running Prefect's API app (uvicorn ... create_app) with PREFECT_HOME=`home`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if (
            b"prefect.server.api.server:create_app" in command
            and f"PREFECT_HOME={home}".encode() in environ
            and state not in ("Z", "X")
        ):
            found.append(int(entry.name))
    return found


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def prefect_style_command(port: int) -> list[str]:
    """The command of Prefect's SubprocessASGIServer (prefect/server/api/server.py)."""
    import prefect

    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(prefect.__module_path__.parent),
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]


def prefect_style_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return {
        **env,
        "PREFECT_HOME": str(home),
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def wait_healthy(port: int, seconds: float = 180) -> bool:
    def answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return wait_until(answers, seconds)


def orphaned_prefect_server(home: Path) -> tuple[int, int]:
    """A temporary Prefect server for `home` whose parent has already exited (it is re-parented): what a `serve`
    killed with SIGKILL left behind before it owned its server. Returns its pid and port, once it answers."""
    port = free_port()
    launcher = subprocess.run(
        ["sh", "-c", '"$@" >/dev/null 2>&1 </dev/null & echo $!', "sh", *prefect_style_command(port)],
        env=prefect_style_environment(home),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    pid = int(launcher.stdout.strip())
    assert wait_healthy(port), "the orphaned Prefect server did not start"
    return pid, port
