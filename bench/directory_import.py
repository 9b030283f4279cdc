"""Directory import: 20,000 rows against 200,000, time per row side by side (goal: the ratio near 1, linear; and
200,000 rows in under 30 s).

    .venv/bin/python -m bench.directory_import [--small 20000] [--large 200000] [--postgres]

For each size, a fresh database holds the NEASPEC process as on 20 March 2025 (outline-feedback active, waiting
on member States) and the sample directory; a CSV of that many people is then imported twice, as
`consultrack directory import` does it (read and validated, then upserted and every process re-planned in one
transaction): first as new people, then again with every name changed and every tenth address in capitals (the
same people, updated, matched case-insensitively). One person in fifty is a focal point, so the re-planning
has reminders to plan for them. --postgres runs on a throwaway database of the PostgreSQL server at
127.0.0.1:5432 (CONSULTRACK_TEST_PG_ADMIN names another) instead of a SQLite file."""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench.reminders_setup import ACTOR, P, fresh_data_dir, seoul

PG_ADMIN_URL = os.environ.get("CONSULTRACK_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CODES = ["CN", "KP", "JP", "MN", "KR", "RU"]
ZONES = ["Asia/Seoul", "Asia/Tokyo", "Asia/Shanghai", "Europe/Moscow", "", ""]


def write_people(path: Path, count: int, *, renamed: bool) -> None:
    """`count` people: mostly stakeholders and SOM delegates, one in fifty a focal point of a member State."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["name", "email", "role", "member_state", "timezone", "language"])
        for n in range(count):
            role = (
                "focal_point"
                if n % 50 == 0
                else "alternate_focal_point"
                if n % 50 == 1
                else "som_delegate"
                if n % 5 == 0
                else "stakeholder"
            )
            state = CODES[n % 6] if role != "stakeholder" else ""
            email = f"person.{n}@example.org"
            if renamed and n % 10 == 3:
                email = email.upper()
            out.writerow(
                [f"{'Renamed ' if renamed else ''}Person {n}", email, role, state, ZONES[n % 6], "en" if n % 3 else ""]
            )


def process_in_march() -> None:
    from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR
    from models import lifecycle, meetings
    from models.db import session_scope
    from models.directory_import import import_directory, read_directory
    from models.enums import MeetingStatus
    from models.gates import GateInputs
    from models.processes import create_process
    from models.template import load_template

    with session_scope() as s:
        at = seoul("2024-12-01 09:00")
        import_directory(s, read_directory(DIRECTORY_SAMPLES_DIR / "sample.yaml"), source="bench", actor=ACTOR, now=at)
        create_process(s, load_template(PROCESS_TEMPLATES_DIR / f"{P}.yaml"), actor=ACTOR, now=at)
    with session_scope() as s:
        lifecycle.start_stage(s, P, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-13 10:00"))
        meetings.set_meeting_status(s, P, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=seoul("2024-12-16 09:00"))
        lifecycle.advance_stage(s, P, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-16 10:00"))
        lifecycle.open_ready_stages(s, P, now=seoul("2025-01-01 09:00"))
        lifecycle.advance_stage(
            s,
            P,
            "annotated-outline",
            actor=ACTOR,
            now=seoul("2025-03-03 10:00"),
            inputs=GateInputs(approver="minji.secretariat@example.org", note="bench"),
        )


def import_file(path: Path) -> tuple[float, dict[str, int]]:
    """What flows.setup.import_directory_file does, without Prefect around it (a constant few seconds)."""
    from models.db import session_scope
    from models.directory_import import import_directory, read_directory
    from notifications.reminders.planner import replan_all

    now = seoul("2025-03-20 09:00")
    start = time.perf_counter()
    directory = read_directory(path)
    with session_scope() as s:
        counts = import_directory(s, directory, source=str(path), actor=ACTOR, now=now)
        replan_all(s, now)
    return time.perf_counter() - start, counts


def one_size(count: int, postgres: bool) -> tuple[float, float]:
    """Seconds for the first import (new people) and for the second (the same people, updated)."""
    from sqlalchemy import create_engine, text

    from models.db import dispose_engines

    admin, name, url = None, "", None
    if postgres:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"ct_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        data = fresh_data_dir(url)
        process_in_march()
        files = Path(tempfile.mkdtemp(prefix="consultrack-bench-csv-", dir=data))
        new, renamed = files / "people.csv", files / "people-renamed.csv"
        write_people(new, count, renamed=False)
        write_people(renamed, count, renamed=True)
        added_time, added = import_file(new)
        updated_time, updated = import_file(renamed)
        assert added["added"] == count and updated["updated"] >= count, (added, updated)
        return added_time, updated_time
    finally:
        dispose_engines()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at 127.0.0.1:5432 instead of SQLite")
    args = parser.parse_args()
    results = {size: one_size(size, args.postgres) for size in (args.small, args.large)}
    print(
        f"directory import on {'PostgreSQL' if args.postgres else 'SQLite'} "
        "(read, validate, upsert, re-plan; one transaction)"
    )
    print(f"{'':<26}{args.small:>12,} rows {args.large:>14,} rows   per-row ratio")
    for index, label in enumerate(("new people", "the same people updated")):
        small, large = results[args.small][index], results[args.large][index]
        small_row, large_row = small / args.small * 1e6, large / args.large * 1e6
        print(
            f"{label:<26}{small:9.2f} s {small_row:5.0f} us/row {large:8.2f} s {large_row:5.0f} us/row   "
            f"{large_row / small_row:5.2f}x"
        )
    print("goal: per-row ratio near 1.00x (linear), and each import of the large file under 30 s")


if __name__ == "__main__":
    main()
