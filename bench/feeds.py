"""Serving a personal calendar feed against serving the same bytes as a static file, on the same server.

    .venv/bin/python -m bench.feeds [--seconds 8] [--connections 64]

Builds a throwaway database in which one secretariat member's personal feed holds about fifty events, starts
one uvicorn process on 127.0.0.1 with the real application plus a static directory holding that feed's exact
bytes, and loads it from a second process (wrk when installed, else an asyncio httpx client). It prints, side
by side: requests per second for the feed and the file (goal: at least 0.5x), the same for 304 replies
(goal: at least 0.8x), and the feed's 99th-percentile latency at the given concurrency (goal: under 50 ms),
both saturated (every client fires again at once: latency is then clients / throughput) and with each client
pausing between requests, for a random time around the given mean so that the 64 are not in lockstep (still
far more often than any calendar client polls: they ask every few hours).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
STATIC_PREFIX = "/bench-static"
FEED_FILE = "personal.ics"
PERSON = "minji.secretariat@example.org"


def bench_app():  # noqa: ANN201 - a FastAPI app; uvicorn imports this with --factory
    """The production app, plus a static directory (CONSULTRACK_BENCH_STATIC) as the baseline."""
    from fastapi.staticfiles import StaticFiles

    from consultrack.web.app import create_app

    app = create_app()
    app.mount(STATIC_PREFIX, StaticFiles(directory=os.environ["CONSULTRACK_BENCH_STATIC"]), name="bench-static")
    return app


def prepare(data_dir: Path, static_dir: Path) -> str:
    """A database with three processes (the shipped template under three keys) and a token for PERSON."""
    os.environ["CONSULTRACK_DATA_DIR"] = str(data_dir)
    from datetime import UTC, datetime

    from calendars.feeds import personal_feed
    from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR, reset_settings
    from models.db import migrate, read_session, session_scope
    from models.directory_import import import_directory, read_directory
    from models.processes import create_process
    from models.queries import get_person
    from models.template import load_template
    from models.token_rules import issue_feed_token

    reset_settings()
    migrate()
    now = datetime(2025, 3, 20, tzinfo=UTC)
    template = load_template(PROCESS_TEMPLATES_DIR / "neaspec-sp-2026-2030.yaml")
    with session_scope() as session:
        import_directory(
            session, read_directory(DIRECTORY_SAMPLES_DIR / "sample.yaml"), source="sample", actor="bench", now=now
        )
        for n in range(3):
            copy = template.model_copy(
                update={"key": f"{template.key}-bench{n}", "short_name": f"{template.short_name} #{n}"}
            )
            create_process(session, copy, actor="bench", now=now)
        secret = issue_feed_token(session, PERSON, actor="bench", now=now).secret
    with read_session() as session:
        feed = personal_feed(session, get_person(session, PERSON))
    (static_dir / FEED_FILE).write_bytes(feed.body)
    print(f"personal feed of {PERSON}: {feed.body.count(b'BEGIN:VEVENT')} events, {len(feed.body)} bytes")
    return secret


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Result:
    rps: float
    p99_ms: float
    statuses: str


def run_wrk(url: str, headers: dict[str, str], seconds: int, connections: int, pause_ms: int = 0) -> Result:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        # Each client waits between requests, uniformly 0 to twice the pause: independent calendar clients are
        # not in lockstep, and a fixed pause would have all of them fire together (one burst of 64 a period).
        script.write(
            f"function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end\n"
            f"function delay() return {pause_ms} > 0 and math.random(0, {2 * pause_ms}) or 0 end\n"
        )
        script.flush()
        out = subprocess.run([*args, "-s", script.name, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(rps, p99, f"{errors.group(1)} non-2xx/3xx" if errors else "all 2xx/3xx")


_HTTPX_CLIENT = r"""
import asyncio, json, random, sys, time, httpx
url, headers, seconds, connections = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
pause = float(sys.argv[5]) / 1000
async def main():
    latencies, statuses = [], {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as client:
        stop = time.perf_counter() + seconds
        async def worker():
            while time.perf_counter() < stop:
                t = time.perf_counter(); r = await client.get(url); latencies.append(time.perf_counter() - t)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                await asyncio.sleep(random.uniform(0, 2 * pause))
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    print(json.dumps({"rps": len(latencies) / elapsed, "p99": latencies[int(len(latencies) * 0.99)] * 1000,
                      "statuses": statuses}))
asyncio.run(main())
"""


def run_httpx(url: str, headers: dict[str, str], seconds: int, connections: int, pause_ms: int = 0) -> Result:
    out = subprocess.run(
        [sys.executable, "-c", _HTTPX_CLIENT, url, json.dumps(headers), str(seconds), str(connections), str(pause_ms)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = json.loads(out)
    return Result(found["rps"], found["p99"], str(found["statuses"]))


def _have_wrk() -> bool:
    """wrk from Debian's packages, installed here when missing and allowed (as scripts/test does chromium)."""
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet).returncode != 0:  # type: ignore[call-overload]
            subprocess.run(["apt-get", "update", "-qq"], **quiet)  # type: ignore[call-overload]
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)  # type: ignore[call-overload]
    return shutil.which("wrk") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating runs of each; the median is shown.")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--pauses",
        type=int,
        nargs="*",
        default=[500, 200],
        help="Also measure p99 with clients pausing this many ms between requests.",
    )
    args = parser.parse_args()
    load = run_wrk if _have_wrk() else run_httpx
    if load is run_httpx:
        print(
            "warning: wrk is not installed (apt-get install wrk); a single Python client process is the load "
            "generator, and it saturates before the server does: the ratios then measure the client\n"
        )
    work = Path(tempfile.mkdtemp(prefix="consultrack-bench-feeds-"))
    static_dir = work / "static"
    static_dir.mkdir()
    secret = prepare(work / "data", static_dir)
    port = _port()
    env = dict(os.environ, CONSULTRACK_DATA_DIR=str(work / "data"), CONSULTRACK_BENCH_STATIC=str(static_dir))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.feeds:bench_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    feed_url, static_url = f"{base}/calendars/{secret}.ics", f"{base}{STATIC_PREFIX}/{FEED_FILE}"
    try:
        for _ in range(300):
            try:
                feed, static = httpx.get(feed_url), httpx.get(static_url)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        assert feed.status_code == 200 and feed.content == static.content, "the two must serve the same bytes"
        not_modified = {
            "feed": {"If-None-Match": feed.headers["etag"]},
            "static": {"If-None-Match": static.headers["etag"]},
        }
        assert httpx.get(feed_url, headers=not_modified["feed"]).status_code == 304
        assert httpx.get(static_url, headers=not_modified["static"]).status_code == 304
        print(
            f"load generator: {load.__name__.removeprefix('run_')}, {args.connections} connections, "
            f"{args.seconds} s a run, median of {args.rounds} alternating runs, one uvicorn worker, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs\n"
        )
        for url in (feed_url, static_url):  # warm up
            load(url, {}, 1, args.connections)
        rows = []
        for label, conditional in (("200, full feed", False), ("304, If-None-Match", True)):
            runs: dict[str, list[Result]] = {"feed": [], "static": []}
            for _ in range(args.rounds):  # alternate, so that drifting load on the machine hits both alike
                for name, url in (("feed", feed_url), ("static", static_url)):
                    headers = not_modified[name] if conditional else {}
                    runs[name].append(load(url, headers, args.seconds, args.connections))
            dynamic, baseline = (sorted(runs[n], key=lambda r: r.rps)[len(runs[n]) // 2] for n in ("feed", "static"))
            rows.append((label, dynamic, baseline, 0.8 if conditional else 0.5))
        print(
            f"{'reply':<20} {'feed req/s':>11} {'static req/s':>13} {'ratio':>7} {'goal':>6}  "
            f"{'feed p99':>9} {'static p99':>10}  statuses (feed / static)"
        )
        for label, dynamic, baseline, goal in rows:
            ratio = dynamic.rps / baseline.rps
            print(
                f"{label:<20} {dynamic.rps:>11.0f} {baseline.rps:>13.0f} {ratio:>6.2f}x {goal:>5.1f}x  "
                f"{dynamic.p99_ms:>7.1f}ms {baseline.p99_ms:>8.1f}ms  {dynamic.statuses} / {baseline.statuses}"
                f"  {'ok' if ratio >= goal else 'BELOW GOAL'}"
            )
        print(f"\np99 latency at {args.connections} concurrent clients (goal < 50 ms):")
        saturated = rows[0][1].p99_ms
        print(
            f"  saturated, each client sends its next request at once: feed {saturated:.1f} ms, "
            f"static {rows[0][2].p99_ms:.1f} ms (by Little's law about clients / throughput)"
        )
        for pause in args.pauses:
            dynamic = load(feed_url, {}, args.seconds, args.connections, pause)
            baseline = load(static_url, {}, args.seconds, args.connections, pause)
            print(
                f"  each client pausing {pause} ms on average (0-{2 * pause} ms) between requests: "
                f"feed {dynamic.p99_ms:.1f} ms at {dynamic.rps:.0f} req/s, "
                f"static {baseline.p99_ms:.1f} ms at {baseline.rps:.0f} req/s: "
                f"{'ok' if dynamic.p99_ms < 50 else 'ABOVE GOAL'}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
