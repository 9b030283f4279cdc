"""A database held by another writer: every face waits a few seconds at most, then says "the database is busy, try
again" (the API with 503 and Retry-After), and nothing is written. The reschedule preview does not wait at all:
it never holds (or waits for) the write lock.

The other writer is real: a second connection holding BEGIN IMMEDIATE on the SQLite file; on PostgreSQL a
transaction holding the process row FOR UPDATE (and the sign-in failures table, which a sign-in writes)."""

from __future__ import annotations

import concurrent.futures
import contextvars
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from config import clock
from config.settings import get_settings
from tests.helpers import fingerprint
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, PROCESS, csrf_of

pytestmark = pytest.mark.slow
BUSY = "the database is busy, try again"
WITHIN = 10.0
"""Seconds: the longest an answer may take while the database is held (the wait itself is 5 s)."""
STAGE = f"/api/processes/{PROCESS}/stages/outline-feedback"


@contextmanager
def another_writer() -> Iterator[None]:
    url = make_url(get_settings().sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT id FROM process FOR UPDATE"))
            holder.execute(text("LOCK TABLE login_failure IN EXCLUSIVE MODE"))
            yield
            holder.rollback()
    finally:
        engine.dispose()


def admin_token() -> str:
    from models.db import session_scope
    from models.token_rules import issue_api_token

    with session_scope() as session:
        return issue_api_token(session, ADMIN, label="test", actor="test", now=clock.now()).secret


def signed_in(base: str) -> tuple[httpx.Client, str]:
    browser = httpx.Client(base_url=base, timeout=30)
    page = browser.get("/login")
    answer = browser.post(
        "/login", data={"csrf_token": csrf_of(page.text), "username": ADMIN, "password": ADMIN_PASSWORD, "next": "/"}
    )
    assert answer.status_code == 303, answer.text
    return browser, csrf_of(browser.get(f"/p/{PROCESS}/stages/outline-feedback").text)


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def cli(*args: str) -> Any:
    """The CLI in a thread of its own (its flow runs under asyncio.run, which the browser tests' event loop in
    this thread would refuse), in this context (Prefect's test harness lives in a context variable)."""
    from consultrack.cli import app

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(contextvars.copy_context().run, CliRunner().invoke, app, list(args)).result()


def test_api_and_cli_answer_busy_and_write_nothing(live_server: str) -> None:
    token = {"Authorization": f"Bearer {admin_token()}"}
    body = {"member_state": "JP", "received_on": "2025-03-20", "note": "by letter"}
    before = fingerprint()
    with another_writer():
        answer, took = timed(
            lambda: httpx.post(f"{live_server}{STAGE}/responses", json=body, headers=token, timeout=60)
        )
        assert answer.status_code == 503 and took < WITHIN, (answer.status_code, took, answer.text)
        assert BUSY in answer.json()["error"] and int(answer.headers["Retry-After"]) > 0
        result, took = timed(
            lambda: cli("response", "record", "outline-feedback", "JP", "--received", "2025-03-20", "--actor", ADMIN)
        )
        assert result.exit_code != 0 and BUSY in result.stderr and took < WITHIN, (result.output, took)
        assert fingerprint() == before
    assert fingerprint() == before
    assert httpx.post(f"{live_server}{STAGE}/responses", json=body, headers=token, timeout=60).status_code == 200


def test_form_and_sign_in_say_busy_and_write_nothing(live_server: str) -> None:
    browser, csrf = signed_in(live_server)
    before = fingerprint()
    with another_writer():
        page, took = timed(
            lambda: browser.post(
                f"/p/{PROCESS}/stages/outline-feedback/respond",
                data={
                    "csrf_token": csrf,
                    "member_state": "JP",
                    "received_on": "2025-03-20",
                    "channel": "letter",
                    "note": "Signed by the Vice-Minister",
                },
            )
        )
        assert page.status_code == 503 and took < WITHIN, (page.status_code, took)
        assert BUSY in page.text and "Signed by the Vice-Minister" in page.text  # the values are kept
        other = httpx.Client(base_url=live_server, timeout=30)
        login = other.get("/login")
        refused, took = timed(
            lambda: other.post(
                "/login",
                data={"csrf_token": csrf_of(login.text), "username": ADMIN, "password": ADMIN_PASSWORD, "next": "/"},
            )
        )
        assert refused.status_code == 503 and BUSY in refused.text and took < WITHIN, (refused.status_code, took)
        assert fingerprint() == before
    assert fingerprint() == before


def test_the_preview_neither_takes_nor_waits_for_the_write_lock(live_server: str) -> None:
    token = {"Authorization": f"Bearer {admin_token()}"}
    before = fingerprint()
    with another_writer():
        # Waiting for the lock would end in a 503 (SQLite) or a lock timeout (PostgreSQL): it answers.
        answer = httpx.post(
            f"{live_server}{STAGE}/reschedule/preview", json={"end": "2025-04-14"}, headers=token, timeout=30
        )
        assert answer.status_code == 200, answer.text
        moved = {s["key"] for s in answer.json()["stages"]}
        assert {"outline-feedback", "consultations"} <= moved
    assert fingerprint() == before
