"""Command-line changes with no service running, against bare imports measured in the same run.

    .venv/bin/python -m bench.cli_writes [--runs 3] [--idle 600]

Builds the demo (NEASPEC 2026-2030 replayed to 20 March 2025; the clock then stands on 1 April) in a throwaway
directory with no Prefect server kept afterwards, then prints side by side: a bare `python -c "import prefect"`
and `python -c "import sqlmodel"` (median of --runs), five changes in a row from fresh `consultrack` processes
(record a response, advance, reschedule, a meeting change: attendance at the April NFP meeting, since on 1 April
no meeting can be recorded held and SOM-27 already is; and a `remind run` that sends what they made due): the
first starts the Prefect server kept for the data directory, the others reuse it; and `remind run` with nothing
due (median of --runs). Then the ratios against issue 15's goals: the first change at most 4x the bare Prefect
import, the median of the second to fifth at most 2x, `remind run` with nothing due at most 1.5x the bare
SQLModel import. `--idle 0` measures the same changes as before issue 15 (each starts its own temporary server).
The kept server is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = "2025-04-01T09:30:00+09:00"
"""After the consultations window opened (1 April), so the advance starts the next stage at once."""
CONSULTRACK = [sys.executable, "-m", "consultrack"]
ACTOR = ["--actor", "bench@example.org"]
SETUP = [["response", "record", "outline-feedback", member, "--channel", "e-mail", *ACTOR] for member in ("JP", "MN")]
"""Untimed, after the demo (replayed to 20 March): all but one member State have answered, so recording the last
one lets the stage advance."""
WRITES = [
    ("record a response", ["response", "record", "outline-feedback", "KP", "--channel", "e-mail", *ACTOR]),
    ("advance", ["stage", "advance", "outline-feedback", *ACTOR]),
    (
        "reschedule",
        ["stage", "reschedule", "consultations", "--end", "2025-05-30", "--apply", "--reason", "bench", *ACTOR],
    ),
    ("meeting attendance", ["meeting", "attendance", "nfp-2025-04", "JP=registered", *ACTOR]),
    ("remind run, sending", ["remind", "run"]),
]
"""The fifth change sends what the advance and the reschedule made due (the new stage's notices): `timed` checks
that it sent something, so it is a flow run and not the no-Prefect answer of a `remind run` with nothing due."""


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    if command[-2:] == ["remind", "run"] and env and env.get("CONSULTRACK_PREFECT_IDLE_SECONDS") != "0":
        sent = done.stdout.split()[1] if done.stdout.startswith("sent ") else "?"
        print(f"  remind run: sent {sent}", flush=True)
    return took


def stop_kept_server(home: Path) -> None:
    """SIGTERM the kept server's watchdog (flows/kept_server.py), which stops the server, and wait for it."""
    try:
        owner = int(json.loads((home / "server.json").read_text())["owner"])
    except (OSError, ValueError, KeyError):
        return
    try:
        os.kill(owner, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while Path(f"/proc/{owner}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each bare import and of the idle remind run")
    parser.add_argument("--idle", default="600", help="CONSULTRACK_PREFECT_IDLE_SECONDS for the changes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="consultrack-bench-cli-"))
    data = work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULTRACK_", "PREFECT_"))}
    env.update(CONSULTRACK_DATA_DIR=str(data), CONSULTRACK_NOW=NOW)
    try:
        print(f"building the demo in {data} ...", flush=True)
        for command in (["demo"], *SETUP):
            timed([*CONSULTRACK, *command], {**env, "CONSULTRACK_PREFECT_IDLE_SECONDS": "0"})
        prefect_import = statistics.median(timed([sys.executable, "-c", "import prefect"]) for _ in range(args.runs))
        sqlmodel_import = statistics.median(timed([sys.executable, "-c", "import sqlmodel"]) for _ in range(args.runs))
        env["CONSULTRACK_PREFECT_IDLE_SECONDS"] = args.idle
        writes = [(label, timed([*CONSULTRACK, *command], env)) for label, command in WRITES]
        remind = statistics.median(timed([*CONSULTRACK, "remind", "run"], env) for _ in range(args.runs))

        print(f"\n{'what':<40} {'seconds':>8}")
        for bare, took in (("import prefect", prefect_import), ("import sqlmodel", sqlmodel_import)):
            print(f"{f'python -c {bare!r}':<40} {took:8.2f}")
        for number, (label, took) in enumerate(writes, 1):
            print(f"{f'change {number}: {label}':<40} {took:8.2f}")
        print(f"{'remind run, nothing due':<40} {remind:8.2f}")
        later = statistics.median(took for _, took in writes[1:])
        print(f"\nkept server idle stop: {args.idle} s (CONSULTRACK_PREFECT_IDLE_SECONDS)")
        for what, ratio, goal in (
            ("first change / import prefect", writes[0][1] / prefect_import, 4.0),
            ("median of changes 2-5 / import prefect", later / prefect_import, 2.0),
            ("remind run, nothing due / import sqlmodel", remind / sqlmodel_import, 1.5),
        ):
            print(f"{what:<44} {ratio:5.2f}x  (goal at most {goal}x: {'met' if ratio <= goal else 'NOT met'})")
    finally:
        stop_kept_server(data / "prefect")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
