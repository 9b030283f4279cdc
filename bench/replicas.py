"""Reminder dispatch throughput with one replica vs. two on the same PostgreSQL, side by side in one run.

Each round gets a fresh PostgreSQL database with the same crowd of reminders planned through the real planner
(tests/replicas/fleet.py), a long-lived Prefect server shared by the replicas, and an SMTP server on loopback that
counts what it receives. A replica is `consultrack remind run` in its own process. Printed per round: messages,
duplicates (must be 0), the dispatch window (first to last message at the server: the sweep's own speed) and the
wall time including the replicas' start-up; then the ratio of two replicas to one. On one machine the replicas,
PostgreSQL and the SMTP server share its cores: a second replica helps only while the first leaves a core idle,
so the ratio measures this machine's headroom as much as the claims (which never make a replica wait: SKIP LOCKED).
    .venv/bin/python bench/replicas.py [--reminders 5000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _name in [n for n in os.environ if n.startswith(("CONSULTRACK_", "PREFECT_"))]:
    del os.environ[_name]
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def one_round(replicas: int, reminders: int, prefect_api: str, work: Path) -> dict[str, float]:
    from sqlalchemy import create_engine, text

    from config.settings import reset_settings
    from models.db import dispose_engines, migrate
    from tests.replicas.fleet import CountingSink, plan_crowd, replica_env, start_replicas, wait_all

    name = f"ct_bench_{uuid.uuid4().hex[:10]}"
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    data_dir = work / f"{name}"
    data_dir.mkdir()
    os.environ.update(CONSULTRACK_DATABASE_URL=url, CONSULTRACK_DATA_DIR=str(data_dir))
    reset_settings()
    try:
        migrate(url)
        due = plan_crowd(reminders)
        dispose_engines()
        with CountingSink() as sink:
            started = time.perf_counter()
            running = start_replicas(
                replicas,
                lambda n: replica_env(data_dir, url, sink.port, prefect_api, data_dir / f"prefect-{n}"),
                data_dir,
            )
            wait_all(running, timeout=1800)
            wall = time.perf_counter() - started
            counts = sink.handler.snapshot()
            window = (sink.handler.last or 0) - (sink.handler.first or 0)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    delivered = sum(counts.values())
    if delivered != due:
        raise SystemExit(f"{replicas} replica(s): {delivered} messages delivered for {due} reminders due")
    return {"due": due, "duplicates": delivered - len(counts), "window": window, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reminders", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1, help="Rounds of (one replica, two replicas), alternated.")
    args = parser.parse_args()

    from tests.replicas.fleet import running_prefect_server

    results: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        work = Path(tmp)
        (work / "prefect").mkdir()
        with running_prefect_server(work / "prefect") as server:
            for _ in range(args.rounds):
                for replicas in (1, 2):
                    results[replicas].append(one_round(replicas, args.reminders, server.api_url, work))
                    r = results[replicas][-1]
                    print(
                        f"  {replicas} replica(s): {int(r['due'])} sent, {int(r['duplicates'])} duplicates, "
                        f"window {r['window']:.1f} s, wall {r['wall']:.1f} s",
                        flush=True,
                    )

    def best(replicas: int, key: str) -> float:
        return min(r[key] for r in results[replicas])

    due = results[1][0]["due"]
    print(
        f"\nReminder dispatch on one PostgreSQL database, {int(due)} reminders, {os.cpu_count()} CPU(s), "
        f"best of {args.rounds}:"
    )
    print(f"{'':<14}{'msg/s (dispatch window)':>26}{'msg/s (wall, incl. start-up)':>32}")
    for replicas in (1, 2):
        print(
            f"{replicas} replica(s){'':<3}{due / best(replicas, 'window'):>26.0f}{due / best(replicas, 'wall'):>32.0f}"
        )
    print(
        f"ratio 2 / 1{'':<3}{best(1, 'window') / best(2, 'window'):>25.2f}x{best(1, 'wall') / best(2, 'wall'):>31.2f}x"
    )
    print("duplicates: " + str(sum(int(r["duplicates"]) for rs in results.values() for r in rs)))


if __name__ == "__main__":
    main()
