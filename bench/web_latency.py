"""Dashboard page latency and stage-transition latency, against baselines measured in the same run.

    .venv/bin/python -m bench.web_latency [--requests 200] [--pause 0]

Builds the demo (NEASPEC 2026-2030 replayed to 20 March 2025) in a throwaway directory, copies it, and runs
`consultrack serve` on one copy. It prints:
- p50/p95 latency of the timeline and a stage page (goal: p95 under 100 ms), next to the static stylesheet served
  by the same server (the floor of one request over loopback);
- the latency of a reschedule through the API (extend the outline feedback to 15 April and back, each moving the
  stages after it, their meetings and the focal points' reminders, and queuing the change notices), its preview
  first (goal: under 0.5 s), with what it moved;
- the latency of a stage transition (advance, which completes a stage and starts the next) through the API with
  Prefect warm in the service (goal: under 0.5 s), next to the same transition run by `consultrack stage
  advance` in a fresh CLI process on the other copy, with no service to hand it to (Prefect starts each time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NOW = "2025-03-20T09:00:00+09:00"
PROCESS = "neaspec-sp-2026-2030"
CONSULTRACK = [sys.executable, "-m", "consultrack"]
ADVANCES = ["outline-feedback", "consultations", "drafting", "draft-review", "revision", "final-nfp-meeting"]


def environment(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULTRACK_", "PREFECT_"))}
    env.update(CONSULTRACK_DATA_DIR=str(data_dir), CONSULTRACK_NOW=NOW, CONSULTRACK_BASE_URL=f"http://127.0.0.1:{port}")
    return env


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        [*CONSULTRACK, *args], env=env, input=stdin, capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"consultrack {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_gets(client: httpx.Client, path: str, count: int) -> list[float]:
    client.get(path).raise_for_status()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds between transitions (each wakes a sweep that sends the new stage's notices)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="consultrack-bench-web-"))
    served, cold = work / "served", work / "cold"
    port, closed_port = free_port(), free_port()
    try:
        print("building the demo data (once)...", flush=True)
        run(["demo", "--until", NOW[:10]], environment(served, port))
        run(
            ["account", "create", "bench", "--role", "admin", "--password-stdin", "--actor", "bench"],
            environment(served, port),
            stdin="bench password 123\n",
        )
        shutil.copytree(served, cold, ignore=shutil.ignore_patterns("prefect", "mailbox"))
        token = run(["api-token", "new", "bench", "--actor", "bench"], environment(served, port)).split()[-1]

        print("starting the service...", flush=True)
        env = environment(served, port)
        log = (work / "serve.log").open("w")
        service = subprocess.Popen([*CONSULTRACK, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).json()["prefect"]["ok"]:
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                if time.monotonic() > deadline or service.poll() is not None:
                    raise SystemExit("the service did not start:\n" + (work / "serve.log").read_text())
                time.sleep(0.3)
            with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as client:
                login = client.get("/login").text
                csrf = login.split('name="csrf_token" value="')[1].split('"')[0]
                signed_in = client.post(
                    "/login", data={"csrf_token": csrf, "username": "bench", "password": "bench password 123"}
                )
                if signed_in.status_code != 303:
                    raise SystemExit(f"could not sign in: {signed_in.status_code}")
                pages = {
                    "static stylesheet (baseline)": "/static/style.css",
                    "timeline": f"/p/{PROCESS}",
                    "stage page": f"/p/{PROCESS}/stages/outline-feedback",
                }
                results = {name: timed_gets(client, path, args.requests) for name, path in pages.items()}
            headers = {"Authorization": f"Bearer {token}"}
            moves: list[tuple[float, float, str]] = []
            for end in ("2025-04-15", "2025-03-31", "2025-04-15", "2025-03-31"):
                path = f"{url}/api/processes/{PROCESS}/stages/outline-feedback/reschedule"
                body = {"end": end, "reason": "benchmark"}
                started = time.perf_counter()
                preview = httpx.post(path + "/preview", headers=headers, json=body, timeout=60)
                previewed = time.perf_counter() - started
                preview.raise_for_status()
                started = time.perf_counter()
                httpx.post(path, headers=headers, json=body, timeout=60).raise_for_status()
                shown = preview.json()
                what = (
                    f"{len(shown['stages'])} stages, {len(shown['meetings'])} meetings, "
                    f"{len(shown['reminders'])} reminder rows: " + "; ".join(shown["summary"])
                )
                moves.append((previewed, time.perf_counter() - started, what))
            api = []
            for number, stage in enumerate(ADVANCES):
                if number:  # the stage the last advance made ready opens on its window: start it now, untimed
                    httpx.post(
                        f"{url}/api/processes/{PROCESS}/stages/{stage}/start", headers=headers, json={}, timeout=60
                    ).raise_for_status()
                started = time.perf_counter()
                answer = httpx.post(
                    f"{url}/api/processes/{PROCESS}/stages/{stage}/advance",
                    headers=headers,
                    json={"override_reason": "benchmark"},
                    timeout=60,
                )
                api.append(time.perf_counter() - started)
                answer.raise_for_status()
                time.sleep(args.pause)
        finally:
            service.terminate()
            service.wait(60)
            log.close()

        cold_env = environment(cold, closed_port)
        cli = []
        for number, stage in enumerate(ADVANCES[: args.cold_runs]):
            if number:
                run(["stage", "start", stage, "--actor", "bench"], cold_env)
            started = time.perf_counter()
            run(["stage", "advance", stage, "--override", "benchmark", "--actor", "bench"], cold_env)
            cli.append(time.perf_counter() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    floor = percentile(results["static stylesheet (baseline)"], 0.95)
    print(
        "\nload average (1, 5, 15 min) at the end: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        + f" on {os.cpu_count()} CPUs: absolute figures scale with it, the ratios much less"
    )
    print(f"\nPage latency over loopback, demo data, {args.requests} requests each (real uvicorn, signed in)")
    print(f"  {'':32} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
    for name, samples in results.items():
        p95 = percentile(samples, 0.95)
        goal = "" if "baseline" in name else ("   goal < 100 ms: " + ("met" if p95 < 100 else "NOT met"))
        print(f"  {name:32} {statistics.median(samples):8.1f} {p95:8.1f} {p95 / floor:14.1f}x{goal}")
    print(f"\nReschedule through the API with Prefect warm, {len(moves)} runs (preview, then apply):")
    for previewed, applied, what in moves:
        print(f"  preview {previewed:.3f} s, apply {applied:.3f} s   ({what})")
    applied_median = statistics.median(a for _, a, _ in moves)
    print(f"  apply median {applied_median:.3f} s   goal < 0.5 s: {'met' if applied_median < 0.5 else 'NOT met'}")
    warm = statistics.median(api)
    print(
        f"\nStage transition (advance with override), {len(api)} through the API with Prefect warm"
        f" ({args.pause:g} s apart):"
    )
    print(
        f"  median {warm:.3f} s, max {max(api):.3f} s   goal < 0.5 s: {'met' if warm < 0.5 else 'NOT met'}"
        f" (each: {', '.join(f'{x:.2f}' for x in api)})"
    )
    cold_median = statistics.median(cli)
    print(f"Same transition from a cold CLI process (no service), {len(cli)} runs:")
    print(f"  median {cold_median:.2f} s, max {max(cli):.2f} s   -> the service is {cold_median / warm:.0f}x faster")


if __name__ == "__main__":
    main()
