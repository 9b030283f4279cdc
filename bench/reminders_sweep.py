"""The sweep's time with 1,000,000 historical reminder rows against an empty table.

    .venv/bin/python -m bench.reminders_sweep [--history 1000000] [--due 100] [--rounds 3] [--database-url URL]

Two databases are built the same way; one also receives `--history` rows of past reminders (sent, skipped,
cancelled, failed) spread over 2,000 past stages (of 200 past processes, ten each) and 100 people, five per pair.
In alternating rounds, `--due` reminders fall due in each and one sweep sends them to the local mail sink (in its
own process); then 50 idle sweeps (nothing due) show the cost of looking. Best-of-rounds times are compared (the
least disturbed run).
Goal: with the history, the sweep takes at most 1.5x as long. The index on (status, send_at) is what keeps it so.
The same is printed for the re-planning every change runs (it reads history by key only, of active stages)."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.reminders_setup import add_due_rows, fresh_data_dir, march_with_focal_points, seoul, sink_process

STATUSES = ["sent"] * 16 + ["skipped"] * 2 + ["cancelled"] + ["failed"]


def add_history(count: int, people: list[int]) -> None:
    from sqlalchemy import insert, select

    from models.db import get_engine
    from models.process import Process, Stage
    from models.reminder import Reminder

    engine = get_engine()
    past = seoul("2024-01-01 09:00")
    stages = max(1, count // (len(people) * 5))
    per_process = 10  # history comes from past cycles: earlier processes whose stages are all completed
    with engine.begin() as conn:
        conn.execute(
            insert(Process),
            [
                {
                    "key": f"past-{n}",
                    "title": f"Past process {n}",
                    "short_name": f"P{n}",
                    "timezone": "Asia/Seoul",
                    "source": "history",
                    "reminder_policy": {},
                    "template_name": "",
                    "created_at": past,
                }
                for n in range(-(-stages // per_process))
            ],
        )
        process_ids = list(
            conn.execute(select(Process.id).where(Process.key.like("past-%")).order_by(Process.id)).scalars()
        )
        conn.execute(
            insert(Stage),
            [
                {
                    "process_id": process_ids[n // per_process],
                    "key": f"past-{n}",
                    "position": n % per_process,
                    "name": f"Past stage {n}",
                    "activity": "history",
                    "start_date": past.date(),
                    "end_date": past.date(),
                    "due_date": past.date(),
                    "owners": ["member_states"],
                    "depends_on": [],
                    "gate_kind": "manual",
                    "gate": {},
                    "state": "completed",
                    "version": 1,
                    "modified_at": past,
                }
                for n in range(stages)
            ],
        )
        stage_ids = list(conn.execute(select(Stage.id).where(Stage.key.like("past-%"))).scalars())
    made = 0
    chunk: list[dict[str, object]] = []
    with engine.begin() as conn:
        for s_index, stage_id in enumerate(stage_ids):
            for person in people:
                for occurrence in range(5):
                    if made >= count:
                        break
                    status = STATUSES[made % len(STATUSES)]
                    at = past + timedelta(days=s_index % 300, hours=occurrence)
                    chunk.append(
                        {
                            "stage_id": stage_id,
                            "person_id": person,
                            "rule": "before",
                            "occurrence": occurrence,
                            "offset_days": -occurrence,
                            "send_at": at,
                            "due_date_seen": date(2024, 1, 1),
                            "status": status,
                            "cc": [],
                            "details": {},
                            "attempts": 1,
                            "late": False,
                            "sent_at": at if status == "sent" else None,
                            "message_id": f"<h.{made}@example.org>" if status == "sent" else None,
                            "claimed_by": "history",
                            "claimed_at": at,
                        }
                    )
                    made += 1
            if len(chunk) >= 50_000:
                conn.execute(insert(Reminder), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(Reminder), chunk)


def use(data_dir: str, database_url: str | None) -> None:
    os.environ["CONSULTRACK_DATA_DIR"] = data_dir
    if database_url:
        os.environ["CONSULTRACK_DATABASE_URL"] = database_url
    from config.settings import reset_settings

    reset_settings()


async def one_round(at: datetime) -> tuple[float, float, float, int]:
    from sqlmodel import Session

    from bench.reminders_setup import P
    from config import clock
    from models.db import get_engine
    from notifications.reminders.planner import replan_key
    from notifications.reminders.sweep import sweep

    with clock.frozen(at):
        started = time.perf_counter()
        report = await sweep()
        busy = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(50):
            await sweep()
        idle = (time.perf_counter() - started) / 50
        # What every change (start, advance, response) pays to re-derive reminders; rolled back, so the rows it
        # would plan never reach the sweeps of the later rounds.
        started = time.perf_counter()
        for _ in range(5):
            with Session(get_engine()) as session:
                replan_key(session, P, at)
                session.rollback()
        replan = (time.perf_counter() - started) / 5
    return busy, idle, replan, report.sent


def count_rows() -> int:
    from sqlalchemy import func, select

    from models.db import read_session
    from models.reminder import Reminder

    with read_session() as session:
        return int(session.exec(select(func.count()).select_from(Reminder)).one()[0])  # type: ignore[call-overload]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        nargs=2,
        default=None,
        metavar=("EMPTY_URL", "HISTORY_URL"),
        help="two empty PostgreSQL databases instead of SQLite files",
    )
    args = parser.parse_args()
    urls = args.database_url or [None, None]
    setups = {}
    history = f"{args.history:,} history"
    for label, url in zip(("empty table", history), urls, strict=True):
        data = fresh_data_dir(url)
        stage_id, people = march_with_focal_points(args.due)
        if label != "empty table":
            started = time.perf_counter()
            add_history(args.history, people)
            print(f"history: {count_rows()} rows in {time.perf_counter() - started:.1f} s")
        setups[label] = (str(data), url, stage_id, people)
    results: dict[str, list[tuple[float, float, float]]] = {label: [] for label in setups}
    mailbox = Path(tempfile.mkdtemp(prefix="consultrack-bench-sink-"))
    with sink_process(mailbox):
        for round_ in range(1, args.rounds + 1):
            at = seoul("2025-03-24 09:00") + timedelta(minutes=round_)
            for label, (data, url, stage_id, people) in setups.items():
                use(data, url)
                add_due_rows(stage_id, people, at, round_)
                busy, idle, replan, sent = asyncio.run(one_round(at))
                assert sent == args.due, (label, sent)
                results[label].append((busy, idle, replan))
                print(
                    f"round {round_} {label:>17}: sweep of {sent} due {busy * 1000:8.1f} ms, "
                    f"idle sweep {idle * 1000:6.2f} ms, replan {replan * 1000:7.1f} ms"
                )
    best = {label: tuple(min(run[n] for run in runs) for n in range(3)) for label, runs in results.items()}
    (empty_busy, empty_idle, empty_replan), (hist_busy, hist_idle, hist_replan) = best["empty table"], best[history]
    print(f"{'':24}{'empty table':>14}{history:>18}{'ratio':>8}")
    print(
        f"{'sweep, ' + str(args.due) + ' due (ms)':24}{empty_busy * 1000:14.1f}{hist_busy * 1000:18.1f}"
        f"{hist_busy / empty_busy:7.2f}x"
    )
    print(f"{'idle sweep (ms)':24}{empty_idle * 1000:14.2f}{hist_idle * 1000:18.2f}{hist_idle / empty_idle:7.2f}x")
    print(
        f"{'replan after a change (ms)':24}{empty_replan * 1000:14.1f}{hist_replan * 1000:18.1f}"
        f"{hist_replan / empty_replan:7.2f}x"
    )
    worst = max(hist_busy / empty_busy, hist_idle / empty_idle, hist_replan / empty_replan)
    print(f"goal: at most 1.5x -> {'OK' if worst <= 1.5 else 'ABOVE GOAL'} (worst ratio {worst:.2f}x)")


if __name__ == "__main__":
    main()
