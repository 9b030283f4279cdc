"""A Prefect server kept between command-line changes, as build tools keep a daemon.

Without it every changing command pays for a temporary Prefect server (a uvicorn process importing Prefect's server
and checking its migrations: most of a ten-second command, docs/ARCHITECTURE.md). Here a command first reuses the
server already recorded for its Prefect home (`<prefect home>/server.json`: the service's, or one kept from an
earlier command) when it answers /api/health; otherwise it starts one that outlives it, under a watchdog that stops
it once nobody has used it for CONSULTRACK_PREFECT_IDLE_SECONDS (0: keep nothing, each command starts Prefect's own
temporary server as it always did).

Three files beside the state file make it safe: `server.lock`, held exclusively around "find or start" (two
commands started at once start one server), `server.inuse`, held shared by each command for as long as it runs
(the watchdog, and a service taking over, stop the server only once they can hold it exclusively, so no command
loses its server mid-run), and `server.log`, the kept server's output. Use is measured by the state file's mtime,
touched by every command that uses the server. The kept server talks only to Prefect's own database, never ours.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from config.private_files import private_dir, private_file, write_private
from config.settings import get_settings
from flows import prefect_server
from flows.prefect_server import PrefectServer
from models.errors import ConsultrackError

log = logging.getLogger("consultrack.prefect")
HEALTH_TIMEOUT = 1.0
"""How long a command waits for a recorded server to answer before it takes it for unhealthy."""
RECORD_WAIT = 150.0
"""A kept server its starter never recorded (the starter was killed) stops after this long."""

# The watchdog: starts the server (through prefect_server's launcher, so the server dies with the watchdog), tells
# its starter the server's pid, then stops it when asked (SIGTERM: once no command uses it), when it is idle (and no
# command uses it), when the state file names another server, or never was recorded.
_WATCHDOG = """\
import fcntl, json, os, signal, subprocess, sys, time
home, idle, record_wait = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
launch = json.loads(sys.stdin.readline())  # not in argv: only the server itself names Prefect's app
sys.stdin.close()
state = os.path.join(home, "server.json")
asked = []
signal.signal(signal.SIGTERM, lambda *_: asked.append(True))
signal.signal(signal.SIGINT, signal.SIG_IGN)
server = subprocess.Popen([sys.executable, "-c", launch[0], str(os.getpid()), *launch[1:]], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL)
print(server.pid, flush=True)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
began, seen = time.monotonic(), False

def recorded():
    try:
        with open(state) as f:
            return json.load(f).get("pid") == server.pid
    except (OSError, ValueError, AttributeError):
        return False

def hold(name, blocking):
    f = open(os.path.join(home, name), "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        f.close()
        return None
    return f

def idle_for():
    try:
        return time.time() - os.stat(state).st_mtime
    except OSError:
        return 0.0

def why_stop():
    global seen
    mine = recorded()
    seen = seen or mine
    if asked or seen and not mine or not seen and time.monotonic() - began > record_wait:
        return "now"
    return "if idle" if seen and idle_for() >= idle else None

held = []
while server.poll() is None:
    time.sleep(0.5)
    why = why_stop()
    if why == "now":
        held.append(hold("server.inuse", True))
        break
    if why == "if idle":  # no command finding or using it, and none came meanwhile
        held = [hold("server.lock", False)]
        if held[0] is not None and idle_for() >= idle:
            held.append(hold("server.inuse", False))
            if held[1] is not None:
                break
        for f in held:
            if f is not None:
                f.close()
        held = []
if recorded():
    os.unlink(state)
server.terminate()
try:
    server.wait(10)
except subprocess.TimeoutExpired:
    server.kill()
"""

_in_use: list[IO[str]] = []
_early: list[threading.Thread] = []
_found: list[PrefectServer | None] = []


class DataNotWritable(ConsultrackError):
    """A change needs Prefect's home (in the data directory) writable: Prefect records the run there."""

    http_status = 503


def start_early() -> None:
    """Find or start the kept server in a thread while the command imports its flows and reads its input, so a
    server started now is ready sooner; `for_this_command` takes what it found. The thread does not hold up the
    exit of a command refused before it runs a flow: a server started for it stops after its idle time."""
    if get_settings().prefect_idle_seconds > 0 and not _early:
        _early.append(threading.Thread(target=_find_early, daemon=True))
        _early[0].start()


def _find_early() -> None:
    if prefect_server.configured_api_url() is None and os.access(prefect_server.prefect_home(), os.W_OK):
        _found.append(_find_or_start(prefect_server.prefect_home()))


def for_this_command() -> PrefectServer | None:
    """Point this process's Prefect at the server kept for its Prefect home, starting one when none answers, and
    hold it in use until the process ends. None when Prefect is configured elsewhere (PREFECT_API_URL), or nothing
    is kept (idle 0) and nothing runs: then Prefect starts its temporary server, as it always did."""
    if prefect_server.configured_api_url() is not None:
        return None
    home = prefect_server.prefect_home()
    if not os.access(home, os.W_OK):
        raise DataNotWritable(
            f"cannot write {home} (not writable): make the data directory writable by this user, "
            "or point CONSULTRACK_DATA_DIR at one"
        )
    if _early:
        _early[0].join()
        server = _found[0] if _found else None
    else:
        server = _find_or_start(home)
    if server is not None:
        prefect_server.use(server)
    return server


def _find_or_start(home: Path) -> PrefectServer | None:
    """The server recorded for `home` when it answers, else one started and kept (unless idle is 0), held in use."""
    idle = get_settings().prefect_idle_seconds
    try:
        with prefect_server.exclusive(home):
            server = prefect_server.find_running(home, timeout=HEALTH_TIMEOUT)
            if server is None and idle > 0:
                server = start(home, idle)
            if server is None:
                return None
            _in_use.append(prefect_server.hold_in_use(home))
            os.utime(home / prefect_server.STATE_FILE)
    except (OSError, RuntimeError) as exc:
        log.warning("no kept Prefect server for %s (%s): this command starts its own", home, exc)
        return None
    return server


def start(home: Path, idle: float) -> PrefectServer:
    """Start a server for `home` under a watchdog, detached from this process; call it holding `exclusive(home)`."""
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    private_dir(home)
    prefect_server.stop_abandoned(home)
    deadline = time.monotonic() + float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    for _ in range(3):  # the free port found may be taken before uvicorn binds it: try another
        port = prefect_server.free_port()
        launch = [prefect_server.LAUNCH, *prefect_server.uvicorn_arguments(port)]
        with private_file(home / "server.log").open("ab") as output:
            watchdog = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(home), str(idle), str(RECORD_WAIT)],
                env=prefect_server.server_environment(home),
                cwd=home,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output,
                start_new_session=True,
            )
        assert watchdog.stdin is not None and watchdog.stdout is not None
        with watchdog.stdin:
            watchdog.stdin.write(json.dumps(launch).encode() + b"\n")
        with watchdog.stdout:
            pid = int(watchdog.stdout.readline() or 0)
        server = PrefectServer(
            pid=pid, port=port, owner=watchdog.pid, owner_started=prefect_server.started(watchdog.pid), home=home
        )
        if pid and prefect_server.wait_healthy(server, watchdog, deadline):
            write_private(home / prefect_server.STATE_FILE, json.dumps({**prefect_server.record(server), "kept": idle}))
            log.info(
                "kept Prefect server for %s on %s (pid %d, idle stop after %.0f s)", home, server.api_url, pid, idle
            )
            return server
        watchdog.kill()  # its server dies with it (the launcher's parent-death signal)
        watchdog.wait()
        if time.monotonic() >= deadline:
            break
    raise RuntimeError(f"the Prefect server did not answer (Prefect home {home})")
