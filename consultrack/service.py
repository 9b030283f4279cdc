"""The service: one process serving the dashboard, the API and the feeds, and running the reminder scheduler.

Prefect starts once, when the service starts (a first flow run brings up its API and imports its engine), so a
transition afterwards costs a fraction of a second. Without a configured PREFECT_API_URL the service runs its own
Prefect server (flows/prefect_server.py), which dies with it however it dies; runs a killed predecessor left
unfinished are marked Crashed as it starts. APScheduler triggers the reminder sweep every minute and the
secretariat's digest every morning; a change made through the service also wakes the sweep, so the e-mail a
transition causes leaves within seconds. On shutdown (SIGINT/SIGTERM) uvicorn stops taking requests and finishes
the ones in flight; then the scheduler stops and a sweep under way is awaited: no batch is left half-sent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from fastapi import FastAPI
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL
from sqlalchemy import text

from config import clock
from config.settings import get_settings
from consultrack.web.app import create_app
from flows import prefect_server, reminders
from flows.deployments import DIGEST_HOUR, SWEEP_EVERY
from flows.engine import arun, run
from models.db import dispose_engines, read_session
from notifications.reminders.sweep import resume, stop_after_batch

log = logging.getLogger("consultrack.service")
SWEEP_JOB, DIGEST_JOB, WAKE_JOB = "reminder-sweep", "daily-digest", "reminder-sweep-now"
PREFECT_CHECK_TTL = 30.0


@task(persist_result=False)
def database_answers() -> bool:
    with read_session() as session:
        return session.exec(text("SELECT 1")).first() is not None  # type: ignore[call-overload]


@flow(name="service-start", flow_run_name="consultrack service started at {base_url}", persist_result=False)
async def service_started(base_url: str) -> bool:
    """The first flow of the service: it brings Prefect up (its API, the flow and task engines) before anyone
    waits for it, checks the database as the transitions will reach it, and marks the start in the run history."""
    return database_answers()


class Service:
    def __init__(self) -> None:
        zone = get_settings().secretariat_timezone
        self.scheduler = AsyncIOScheduler(timezone=zone)
        self.prefect: dict[str, Any] = {"ok": False, "detail": "starting"}
        self.last_runs: dict[str, dict[str, Any]] = {}
        self._sweep_lock = asyncio.Lock()
        self._running: set[asyncio.Task[Any]] = set()
        self._prefect_checked = 0.0
        self.prefect_server: prefect_server.PrefectServer | None = None
        self.stopping = False

    # --- start and stop -------------------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        resume()
        started = time.perf_counter()
        try:
            crashed = await self._start_prefect()
        except Exception as exc:  # noqa: BLE001 - the dashboard still serves reads; /healthz says what failed
            log.error("Prefect did not start: %s", exc)
            self.prefect = {"ok": False, "detail": f"did not start: {type(exc).__name__}: {exc}"}
        else:
            self.prefect = {
                "ok": True,
                "started_in_seconds": round(time.perf_counter() - started, 2),
                "api": _prefect_api(),
                "server": self._prefect_server_detail(),
                "runs_marked_crashed": crashed,
            }
        if get_settings().scheduler == "prefect":
            return  # the Prefect server schedules the sweep and the digest; `consultrack worker` runs them
        zone = self.scheduler.timezone
        self.scheduler.add_job(
            self._job,
            IntervalTrigger(seconds=SWEEP_EVERY.total_seconds(), timezone=zone),
            args=[SWEEP_JOB, _sweep],
            id=SWEEP_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=30,
        )
        self.scheduler.add_job(
            self._job,
            CronTrigger(hour=DIGEST_HOUR, minute=0, timezone=zone),
            args=[DIGEST_JOB, _digest],
            id=DIGEST_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3 * 3600,
        )
        self.scheduler.start()
        await self.wake_sweep()  # catch up at once on what fell due while the service was down

    async def _start_prefect(self) -> list[str]:
        """Our own Prefect server unless one is configured, the runs a dead process left marked Crashed, then a first
        flow run. The server is started here, on the main thread (the thread its parent-death signal watches)."""
        crashed: list[str] = []
        if prefect_server.configured_api_url() is None:
            self.prefect_server = prefect_server.start(prefect_server.prefect_home())
            prefect_server.use(self.prefect_server)
            crashed = await prefect_server.crash_abandoned_runs()
        await arun(service_started, base_url=get_settings().base_url)
        return crashed

    def _prefect_server_detail(self) -> str:
        if self.prefect_server is None:
            return "configured (PREFECT_API_URL)"
        return f"this service's own (pid {self.prefect_server.pid}), stops with it"

    async def stop(self) -> None:
        """No new run starts; a sweep under way sends the rest of its batch and stops; only then does the
        scheduler go (its shutdown cancels the job tasks it still holds, which must be done by then)."""
        self.stopping = True
        stop_after_batch()
        if self.scheduler.running:
            self.scheduler.pause()
        if self._running:
            log.info("waiting for %d scheduled run(s) to finish their batch", len(self._running))
            await asyncio.gather(*self._running, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        dispose_engines()
        if self.prefect_server is not None:
            server, self.prefect_server = self.prefect_server, None
            await asyncio.to_thread(prefect_server.stop, server)
            prefect_server.release(server)

    # --- jobs -----------------------------------------------------------------------------------------------

    async def _job(self, name: str, body: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """One scheduled run: never two sweeps at once in this process (the claims make it safe across
        processes), tracked so shutdown can wait for it, its outcome kept for /healthz."""
        if self.stopping:
            return
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            async with self._sweep_lock:
                started = clock.real_now()  # coordination, not business: when the run really began
                try:
                    result = await body()
                except Exception as exc:  # noqa: BLE001 - a failed run is reported and retried next time
                    log.exception("%s failed", name)
                    self.last_runs[name] = {"ok": False, "at": started.isoformat(), "error": f"{type(exc).__name__}"}
                else:
                    self.last_runs[name] = {"ok": True, "at": started.isoformat(), "result": result}
        finally:
            self._running.discard(task)

    async def wake_sweep(self) -> None:
        """Run a sweep now (after a change), without waiting for the next minute."""
        if self.scheduler.running and not self.stopping:
            self.scheduler.add_job(
                self._job,
                args=[SWEEP_JOB, _sweep],
                id=WAKE_JOB,
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )

    # --- health ---------------------------------------------------------------------------------------------

    def scheduler_health(self) -> dict[str, Any]:
        if get_settings().scheduler == "prefect":
            return {"ok": True, "running": False, "detail": "Prefect deployments, run by 'consultrack worker'"}
        jobs = (
            {job.id: job.next_run_time.isoformat() if job.next_run_time else None for job in self.scheduler.get_jobs()}
            if self.scheduler.running
            else {}
        )
        last = self.last_runs.get(SWEEP_JOB)
        return {
            "ok": self.scheduler.running and (last is None or last["ok"]),
            "running": self.scheduler.running,
            "next_runs": jobs,
            "last_runs": self.last_runs,
        }

    async def prefect_health(self) -> dict[str, Any]:
        if not self.prefect.get("ok") or time.monotonic() - self._prefect_checked < PREFECT_CHECK_TTL:
            return self.prefect
        async with get_client() as client:
            problem = await client.api_healthcheck()
        self._prefect_checked = time.monotonic()
        self.prefect = {
            **self.prefect,
            "ok": problem is None,
            **({"detail": f"API unhealthy: {type(problem).__name__}"} if problem else {}),
        }
        return self.prefect


def _prefect_api() -> str:
    return PREFECT_API_URL.value() or "temporary (started by each flow run's process)"


async def _sweep() -> dict[str, Any]:
    """In a worker thread with its own event loop: starting the mail sink and talking SMTP block in places, and
    must not hold up the pages and API requests served on the service's loop."""
    result: dict[str, Any] = await asyncio.to_thread(run, reminders.sweep_reminders)
    return result


async def _digest() -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(run, reminders.send_digest)
    return result


def build_app() -> FastAPI:
    """The web app with the service around it: Prefect warm, scheduler running, changes waking the sweep."""
    app = create_app()
    service = Service()
    app.state.service = service
    app.state.after_change = service.wake_sweep
    app.router.lifespan_context = service.lifespan
    return app


def bind(host: str, port: int) -> socket.socket:
    """Take the port before anything else starts, so nothing (Prefect's own server included) can take it."""
    # IPPROTO_TCP named explicitly: asyncio disables Nagle only on sockets that say they are TCP, and without
    # that every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def server_config(app: FastAPI) -> uvicorn.Config:
    """How uvicorn serves the app. proxy_headers=False: the app decides whom to believe about the client
    (CONSULTRACK_TRUSTED_PROXIES, consultrack/web/app.py); uvicorn's own default would believe any process on
    127.0.0.1, so a script on the same machine could name any client address and dodge the sign-in throttle."""
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
        proxy_headers=False,
        server_header=False,
    )


def serve(host: str, port: int, *, on_ready: Callable[[], None] | None = None) -> None:
    sock = bind(host, port)
    app = build_app()
    if on_ready is not None:
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def announced(app_: FastAPI) -> AsyncIterator[None]:
            async with inner(app_):
                on_ready()
                yield

        app.router.lifespan_context = announced
    server = uvicorn.Server(server_config(app))
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: by then stopping is the normal outcome.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


class Stopped(Exception):
    """SIGTERM arrived and the graceful shutdown has run."""


def _stopped(signum: int, frame: object) -> None:
    raise Stopped()
