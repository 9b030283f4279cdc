"""The service's own Prefect server: started by the service, dying with it, and found again through a state file.

Left to itself, Prefect starts a temporary API server (a `python -m uvicorn ... create_app` subprocess) when no
PREFECT_API_URL is set, and stops it at interpreter exit; a `serve` killed with SIGKILL never gets there, so the
server (some 200 MB) lives on, re-parented to init, with the runs it held RUNNING for ever. Here the service starts
that same command itself, with a parent-death signal (Linux `PR_SET_PDEATHSIG`: the kernel sends it SIGTERM when
the service dies, however it dies), records it in `<prefect home>/server.json`, points Prefect at it and stops it
on a graceful shutdown. A start that finds a temporary server of the same Prefect home nobody owns any more (its
owner dead, or re-parented to init) stops it first, and runs whose process is gone are marked Crashed.

A command-line change reuses the recorded server (flows/kept_server.py, which may also keep one of its own between
commands). `exclusive` serialises "find or start" between processes, and each command holds the server "in use"
(`hold_in_use`) while it runs: a service starting later retires a kept server, and a service stopping stops its own,
only once no command is using it. When PREFECT_API_URL is configured (a long-lived Prefect server, the tests'
harness) nothing here is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from config import clock
from config.private_files import private_dir, private_file, write_private

if TYPE_CHECKING:
    from uuid import UUID

log = logging.getLogger("consultrack.prefect")
STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
IN_USE_FILE = "server.inuse"
APP = "prefect.server.api.server:create_app"
UNMARKED_GRACE_SECONDS = 60.0
"""A run not yet marked with its process (between its creation and its start) is left alone this long."""

# The child sets its own parent-death signal, checks its parent is still the one that started it (the parent may
# have died before the signal was armed), makes what it creates owner-only, and only then becomes uvicorn.
LAUNCH = """\
import os, signal, sys
if sys.platform == "linux":
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.umask(0o077)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


@dataclass(frozen=True)
class PrefectServer:
    pid: int
    port: int
    owner: int
    """The process that started it; the server dies with it."""
    owner_started: int | None
    """The owner's start time (clock ticks since boot), so a recycled pid is not taken for the owner."""
    home: Path

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


def configured_api_url() -> str | None:
    """The Prefect server configured for this process (PREFECT_API_URL), if any."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return str(url) if url else None


def prefect_home() -> Path:
    """The Prefect home in effect (flows.runtime points it at `<data_dir>/prefect`)."""
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()).resolve()


def process_id(pid: int | None = None) -> str:
    """`host:pid`, as Prefect's process worker writes a run's infrastructure_pid."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


async def note_process(flow_run_id: UUID) -> None:
    """Record this process as the one running the flow run (its infrastructure_pid), as its body begins, so a
    restart can tell the runs whose process is gone from those still under way in another process."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        await client.update_flow_run(flow_run_id, infrastructure_pid=process_id())


# --- start, find, stop ---------------------------------------------------------------------------------------------

_children: dict[int, subprocess.Popen[bytes]] = {}


def start(home: Path, *, timeout: float | None = None) -> PrefectServer:
    """Start a Prefect API server for `home` that dies with this process, once it answers /api/health.

    Call it from the main thread: Linux sends the parent-death signal when the thread that started the child
    ends, and only the main thread lives as long as the process."""
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    private_dir(home)
    limit = timeout if timeout is not None else float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    deadline = time.monotonic() + limit
    with exclusive(home):
        retire_kept(home, limit)
        stop_abandoned(home)
        for _ in range(3):  # the free port found may be taken before uvicorn binds it: try another
            port = free_port()
            child = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, str(os.getpid()), *uvicorn_arguments(port)], env=server_environment(home)
            )
            _children[child.pid] = child
            server = PrefectServer(
                pid=child.pid, port=port, owner=os.getpid(), owner_started=started(os.getpid()), home=home
            )
            if wait_healthy(server, child, deadline):
                write_private(home / STATE_FILE, json.dumps(record(server)))
                log.info("Prefect server for %s on %s (pid %d)", home, server.api_url, server.pid)
                return server
            _end(child.pid)
            if time.monotonic() >= deadline:
                break
    raise RuntimeError(f"the Prefect server did not answer within {limit:.0f} s (Prefect home {home})")


def find_running(home: Path, *, timeout: float = 2) -> PrefectServer | None:
    """The server recorded for `home`, when its process is still ours and it answers within `timeout`."""
    server = _recorded(home)
    if server is None or server.pid not in temporary_servers(home):
        return None
    try:
        return server if httpx.get(f"{server.api_url}/health", timeout=timeout).status_code == 200 else None
    except httpx.HTTPError:
        return None


def stop(server: PrefectServer, *, timeout: float = 10) -> None:
    """Stop it (SIGTERM, then SIGKILL after `timeout`) and forget it. What this process still has to tell it (run
    logs, events) is sent first, and a command still using it (`hold_in_use`) is given `timeout` to finish."""
    _drain_clients(timeout)
    with contextlib.ExitStack() as held:
        with contextlib.suppress(OSError):
            _lock(held.enter_context(_in_use_file(server.home)), fcntl.LOCK_EX, timeout)
        if server.pid in _children or server.pid in temporary_servers(server.home):
            _end(server.pid, timeout)
    recorded = _recorded(server.home)
    if recorded is not None and recorded.pid == server.pid:
        (server.home / STATE_FILE).unlink(missing_ok=True)


def stop_abandoned(home: Path) -> list[int]:
    """Stop the temporary servers of `home` nobody owns any more: the one recorded here whose owner is dead, and
    any other re-parented to init (a `serve` or CLI command killed before its server). Returns their pids."""
    recorded = _recorded(home)
    stopped = []
    for pid in temporary_servers(home):
        if recorded is not None and pid == recorded.pid:
            abandoned = not _alive(recorded.owner, recorded.owner_started)
        else:
            abandoned = _orphaned(pid)
        if abandoned:
            log.warning("stopping an abandoned Prefect server of %s (pid %d)", home, pid)
            _end(pid)
            stopped.append(pid)
    if recorded is not None and recorded.pid not in temporary_servers(home):
        (home / STATE_FILE).unlink(missing_ok=True)
    return stopped


def retire_kept(home: Path, timeout: float) -> None:
    """Stop the server a command keeps for `home` (flows/kept_server.py), once the commands using it are done: a
    service starting runs its own, which dies with it. Call it holding `exclusive(home)`."""
    recorded = _recorded(home)
    try:
        kept = bool(json.loads((home / STATE_FILE).read_text()).get("kept"))
    except (OSError, ValueError, AttributeError):
        kept = False
    if recorded is None or not kept or not _alive(recorded.owner, recorded.owner_started):
        return
    log.info("stopping the Prefect server kept for commands (pid %d) once they are done", recorded.pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(recorded.owner, signal.SIGTERM)  # its watchdog: it waits for the commands, then stops it
    deadline = time.monotonic() + timeout
    while (_alive(recorded.owner, recorded.owner_started) or _alive(recorded.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in (recorded.owner, recorded.pid):
        if _alive(pid):
            _end(pid)


# --- between processes: who finds or starts, who is using it -------------------------------------------------------


@contextlib.contextmanager
def exclusive(home: Path) -> Iterator[None]:
    """Held around "find or start" (and a service's start): two commands started at once start one server."""
    with (private_file(home / LOCK_FILE)).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def hold_in_use(home: Path) -> IO[str]:
    """Mark the recorded server in use by this process until the returned file is closed (or the process ends,
    however it ends): nobody stops it meanwhile."""
    in_use = _in_use_file(home)
    fcntl.flock(in_use, fcntl.LOCK_SH)
    return in_use


def _in_use_file(home: Path) -> IO[str]:
    return private_file(home / IN_USE_FILE).open("a")


def _lock(file: IO[str], kind: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(file, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def temporary_servers(home: Path) -> list[int]:
    """Pids of the temporary Prefect API servers (ours or Prefect's own) whose Prefect home is `home`."""
    found = []
    for entry in _proc_entries():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if APP.encode() not in command:
                continue
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        environ = dict(item.split(b"=", 1) for item in variables if b"=" in item)
        if (
            environ.get(b"PREFECT__SERVER_EPHEMERAL") == b"1"
            and Path(os.fsdecode(environ.get(b"PREFECT_HOME", b""))).resolve() == home.resolve()
            and _alive(int(entry.name))
        ):
            found.append(int(entry.name))
    return found


# --- pointing Prefect at it ----------------------------------------------------------------------------------------


def use(server: PrefectServer) -> None:
    """Point this process's Prefect at `server`: every client made from now on, in any thread, talks to it.

    Prefect reads PREFECT_API_URL into a process-global settings context when it is imported; the variable is set
    and that context rebuilt (`temporary_settings` would only reach the calling context, not uvicorn's request
    tasks or the sweep's threads)."""
    import prefect.context

    os.environ["PREFECT_API_URL"] = server.api_url
    prefect.context.refresh_global_settings_context()


def release(server: PrefectServer) -> None:
    """Undo `use`, when the server stops with the process still running (tests, an embedding program)."""
    import prefect.context

    if os.environ.get("PREFECT_API_URL") == server.api_url:
        del os.environ["PREFECT_API_URL"]
        prefect.context.refresh_global_settings_context()


async def crash_abandoned_runs() -> list[str]:
    """Mark Crashed the runs left RUNNING or PENDING by a process that is gone (killed, or the machine stopped),
    so Prefect no longer shows them under way. Runs of processes still alive (a CLI command in flight) are left, and
    so is a run not yet marked with its process unless it has waited longer than a start takes. Only meaningful
    against this machine's own server, whose runs all come from processes here."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    unfinished = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING]))
    )
    crashed = []
    host = socket.gethostname()
    async with get_client() as client:
        for flow_run in await client.read_flow_runs(flow_run_filter=unfinished):
            marked_host, _, pid = (flow_run.infrastructure_pid or "").rpartition(":")
            if pid.isdigit() and marked_host == host:
                if _alive(int(pid)):
                    continue
            elif not pid.isdigit():
                since = flow_run.state.timestamp if flow_run.state else None
                if since is None or (clock.real_now() - since).total_seconds() < UNMARKED_GRACE_SECONDS:
                    continue
            else:
                continue  # another machine's process: not ours to judge
            whose = f"the process running it (pid {pid})" if pid.isdigit() else "the process running it"
            await client.set_flow_run_state(
                flow_run.id,
                Crashed(
                    message=(
                        f"{whose} ended before the run finished; marked crashed when the service started again. "
                        "Its change may or may not have been saved: the audit log says which."
                    )
                ),
                force=True,
            )
            crashed.append(flow_run.name)
    if crashed:
        log.warning(
            "marked %d run(s) left unfinished by a stopped process as crashed: %s", len(crashed), ", ".join(crashed)
        )
    return crashed


# --- processes -----------------------------------------------------------------------------------------------------


def uvicorn_arguments(port: int) -> list[str]:
    """After `python`: the server Prefect itself starts as its temporary server."""
    import prefect

    return [
        "-m",
        "uvicorn",
        "--app-dir",
        str(prefect.__module_path__.parent),
        "--factory",
        APP,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]


def server_environment(home: Path) -> dict[str, str]:
    """As Prefect gives its own temporary server: no UI, the services of a temporary server, our settings."""
    from prefect.settings import get_current_settings

    env = {
        **os.environ,
        **get_current_settings().to_environment_variables(exclude_unset=True),
        "PREFECT_HOME": str(home),
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    env.pop("PREFECT_API_URL", None)
    return env


def record(server: PrefectServer) -> dict[str, object]:
    """What the state file holds."""
    return {**asdict(server), "home": str(server.home)}


def wait_healthy(server: PrefectServer, child: subprocess.Popen[bytes], deadline: float) -> bool:
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                return False
            try:
                if client.get(f"{server.api_url}/health").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    return False


def _end(pid: int, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL; a child of ours is reaped, anyone else's is watched until it is gone."""
    child = _children.pop(pid, None)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _drain_clients(timeout: float) -> None:
    """Send the run logs and events this process still holds, before their server goes."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(RuntimeError):  # never started
            worker.drain_all(timeout=timeout, at_exit=False)


def _recorded(home: Path) -> PrefectServer | None:
    try:
        data = json.loads((home / STATE_FILE).read_text())
        return PrefectServer(
            pid=int(data["pid"]),
            port=int(data["port"]),
            owner=int(data["owner"]),
            owner_started=data.get("owner_started"),
            home=home,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _proc_entries() -> Iterator[Path]:
    proc = Path("/proc")
    return (entry for entry in proc.iterdir() if entry.name.isdigit()) if proc.is_dir() else iter(())


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def started(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def _parent(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def _orphaned(pid: int) -> bool:
    """Re-parented to init: whoever started it is gone (unless init is one of ours, as in a container)."""
    if _parent(pid) != 1:
        return False
    try:
        return b"consultrack" not in Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return False


def _alive(pid: int, started: int | None = None) -> bool:
    """Whether `pid` runs (a zombie does not), and is the process that started at `started` when that is known."""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started
