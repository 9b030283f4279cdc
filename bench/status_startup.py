"""`consultrack status` wall time vs `python -c "import sqlmodel"`, side by side in one run (goal: <= 1.5x).

Builds the demo data once (replayed to 20 March 2025), then alternates the two commands so that machine noise hits
both alike, and prints the medians and their ratio.
    .venv/bin/python bench/status_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="consultrack-bench-"))
    env = {**os.environ, "CONSULTRACK_DATA_DIR": str(data), "CONSULTRACK_NOW": "2025-03-20T09:00:00+09:00"}
    subprocess.run([BIN / "consultrack", "demo"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    status_cmd = [str(BIN / "consultrack"), "status"]
    baseline_cmd = [sys.executable, "-c", "import sqlmodel"]
    for _ in range(2):  # warm the page cache for both
        timed(status_cmd, env), timed(baseline_cmd, env)
    status_times, baseline_times = [], []
    for _ in range(args.runs):
        status_times.append(timed(status_cmd, env))
        baseline_times.append(timed(baseline_cmd, env))
    status_median, baseline_median = statistics.median(status_times), statistics.median(baseline_times)
    print(f"runs: {args.runs} each, alternating")
    print(f"python -c 'import sqlmodel'  median {baseline_median * 1000:7.1f} ms")
    print(f"consultrack status            median {status_median * 1000:7.1f} ms")
    print(f"ratio status / import sqlmodel: {status_median / baseline_median:.2f}x (goal <= 1.50x)")


if __name__ == "__main__":
    main()
