"""Two replicas of `consultrack serve` on one database, the same stage advanced through both APIs at the same
instant: one request advances it, the other is answered 409 "already advanced", and the audit log holds one advance.
Before and after, both serve the same calendar feeds with the same ETags.
Both replicas run with CONSULTRACK_SCHEDULER=prefect, as behind the load balancer of deploy/up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from models.db import dispose_engines, read_session, session_scope
from notifications.mail.sink import free_port
from tests.replicas.fleet import PrefectServer

pytestmark = pytest.mark.slow
PROCESS, STAGE = "neaspec-sp-2026-2030", "som27-kickoff"
SEOUL = ZoneInfo("Asia/Seoul")
ADMIN = "replica.admin"


@pytest.fixture
def token(neaspec: str) -> str:
    from models import lifecycle, meetings
    from models.accounts import create_account
    from models.enums import AccountRole, MeetingStatus
    from models.token_rules import issue_api_token

    at = datetime(2024, 12, 13, 9, 0, tzinfo=SEOUL)
    with session_scope() as session:
        lifecycle.start_stage(session, PROCESS, STAGE, actor="test", now=at)
        held = at.replace(day=16)  # the gate opens on the secretariat's record, never on the clock
        meetings.set_meeting_status(session, PROCESS, "som27-egm", MeetingStatus.HELD, actor="test", now=held)
        create_account(session, ADMIN, "a long enough password", AccountRole.ADMIN, actor="test", now=at)
    with session_scope() as session:
        secret = issue_api_token(session, ADMIN, label="race", actor="test", now=at).secret
    dispose_engines()
    return secret


@pytest.fixture
def replicas(token: str, data_dir: Path, prefect_api: PrefectServer) -> Iterator[list[str]]:
    """Two services on two ports, sharing the database and the Prefect server, ready when /healthz says so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        CONSULTRACK_DATA_DIR=str(data_dir),
        CONSULTRACK_NOW="2024-12-16T09:00:00+09:00",
        CONSULTRACK_SCHEDULER="prefect",
        PREFECT_API_URL=prefect_api.api_url,
    )
    started: list[tuple[subprocess.Popen[bytes], Path, str]] = []
    try:
        for n in range(2):
            port, log = free_port(), data_dir / f"serve-{n}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "consultrack", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env={
                        **env,
                        "PREFECT_HOME": str(data_dir / f"prefect-{n}"),
                        "CONSULTRACK_BASE_URL": f"http://127.0.0.1:{port}",
                    },
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append((process, log, f"http://127.0.0.1:{port}"))
        for process, log, url in started:
            deadline = time.monotonic() + 180
            while True:
                try:
                    health = httpx.get(f"{url}/healthz", timeout=2, headers={"Authorization": f"Bearer {token}"}).json()
                    if health.get("prefect", {}).get("ok"):
                        assert health["scheduler"] == {
                            "ok": True,
                            "running": False,
                            "detail": "Prefect deployments, run by 'consultrack worker'",
                        }
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"replica {url} did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.5)
        yield [url for _, _, url in started]
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()


def assert_same_feeds(replicas: list[str]) -> None:
    """Every replica serves the same calendar, with the same ETag (and honours the other's ETag)."""
    for path in (f"/calendars/processes/{PROCESS}.ics", "/calendars/member-states/JP.ics"):
        answers = [httpx.get(url + path, timeout=30) for url in replicas]
        assert [a.status_code for a in answers] == [200] * len(replicas)
        assert len({a.headers["ETag"] for a in answers}) == 1
        assert len({a.content for a in answers}) == 1
        again = httpx.get(replicas[-1] + path, headers={"If-None-Match": answers[0].headers["ETag"]}, timeout=30)
        assert again.status_code == 304


def test_one_stage_advanced_through_two_replicas_at_once(replicas: list[str], token: str) -> None:
    from models.audit import AuditEntry
    from models.enums import StageState
    from models.process import Stage

    assert_same_feeds(replicas)
    barrier = threading.Barrier(len(replicas))
    answers: list[httpx.Response] = []

    def advance(url: str) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            barrier.wait()
            answers.append(
                client.post(f"/api/processes/{PROCESS}/stages/{STAGE}/advance", json={"note": "both replicas at once"})
            )

    threads = [threading.Thread(target=advance, args=(url,)) for url in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert_same_feeds(replicas)
    by_status = sorted(answers, key=lambda r: r.status_code)
    assert [r.status_code for r in by_status] == [200, 409], [r.text for r in answers]
    assert by_status[1].json()["error"].startswith(f"stage {STAGE} was already advanced")
    with read_session() as session:
        stage = session.exec(select(Stage).where(Stage.key == STAGE)).one()
        advances = session.exec(
            select(AuditEntry).where(AuditEntry.action == "stage.advance", AuditEntry.stage_key == STAGE)
        ).all()
    assert stage.state is StageState.COMPLETED
    assert len(advances) == 1
