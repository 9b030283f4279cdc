"""Fixtures for the web tests: the NEASPEC process as it stood on 20 March 2025, accounts, a real uvicorn on
127.0.0.1 in a thread of the test process, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import contextvars
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from config import clock
from tests.conftest import ACTOR, missing_tool, seoul

ADMIN, ADMIN_PASSWORD = ACTOR, "correct horse battery staple"
VIEWER, VIEWER_PASSWORD = "viewer.one", "viewer password 123"
PROCESS = "neaspec-sp-2026-2030"
TODAY = seoul("2025-03-20 09:00")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def march(neaspec: str) -> str:
    """Kick-off and outline done, outline feedback under way with KR, CN and RU in: the demo's 20 March 2025."""
    from models import lifecycle, meetings
    from models.db import session_scope
    from models.enums import MeetingStatus
    from models.gates import GateInputs

    steps = [
        (
            seoul("2024-12-13 10:00"),
            lambda s, now: lifecycle.start_stage(s, PROCESS, "som27-kickoff", actor=ACTOR, now=now),
        ),
        (
            seoul("2024-12-16 08:00"),
            lambda s, now: meetings.set_meeting_status(
                s, PROCESS, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=now
            ),
        ),
        (
            seoul("2024-12-16 10:00"),
            lambda s, now: lifecycle.advance_stage(s, PROCESS, "som27-kickoff", actor=ACTOR, now=now),
        ),
        (seoul("2025-01-01 09:00"), lambda s, now: lifecycle.open_ready_stages(s, PROCESS, now=now)),
        (
            seoul("2025-03-03 10:00"),
            lambda s, now: lifecycle.advance_stage(
                s, PROCESS, "annotated-outline", actor=ACTOR, now=now, inputs=GateInputs(approver=ACTOR, note="final")
            ),
        ),
    ]
    for code, day in (("KR", "2025-03-10"), ("CN", "2025-03-14"), ("RU", "2025-03-18")):
        steps.append(
            (
                seoul(f"{day} 15:00"),
                lambda s, now, c=code: lifecycle.record_response(
                    s, PROCESS, "outline-feedback", c, received_on=now.date(), actor=ACTOR, now=now
                ),
            )
        )
    for at, step in steps:
        with session_scope() as session:
            step(session, at)
    clock.set_now(TODAY)
    return neaspec


@pytest.fixture
def accounts(march: str) -> dict[str, str]:
    from models.accounts import create_account
    from models.db import session_scope
    from models.enums import AccountRole

    with session_scope() as session:
        create_account(session, ADMIN, ADMIN_PASSWORD, AccountRole.ADMIN, actor="test", now=clock.now())
        create_account(session, VIEWER, VIEWER_PASSWORD, AccountRole.VIEWER, actor="test", now=clock.now())
    return {ADMIN: ADMIN_PASSWORD, VIEWER: VIEWER_PASSWORD}


@pytest.fixture
def client(accounts: dict[str, str]) -> Iterator[object]:
    """An in-process client (no flows run through it unless a test uses prefect_server)."""
    from fastapi.testclient import TestClient

    from consultrack.web.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False, follow_redirects=False) as test_client:
        yield test_client


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: object, username: str, password: str) -> str:
    """Sign in through the login form; returns the session's CSRF token (from a page after login)."""
    page = client.get("/login")  # type: ignore[attr-defined]
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": username,  # type: ignore[attr-defined]
            "password": password,
            "next": "/",
        },
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get(f"/p/{PROCESS}").text)  # type: ignore[attr-defined]


@pytest.fixture
def live_server(accounts: dict[str, str], prefect_server: None) -> Iterator[str]:
    """A real uvicorn serving the app on a free loopback port (the scheduler is the service's; not needed here)."""
    from consultrack.web.app import create_app

    with serving(create_app()) as url:
        yield url


@contextmanager
def serving(app: object) -> Iterator[str]:
    """Serve `app` with a real uvicorn, configured as `consultrack serve` configures it, in a thread of this
    process, on a free port of 127.0.0.1; yields its URL."""
    import uvicorn

    from consultrack.service import bind, server_config

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app))  # type: ignore[arg-type]
    # Prefect's test harness lives in a context variable: the server thread runs in a copy of this context.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(server.run,), kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def age_login_failures(by: timedelta) -> None:
    """Time passing, for the sign-in throttle (which reads the real clock, so freezing the business clock does
    not move it): every refused sign-in on record becomes `by` older."""
    from sqlmodel import select

    from models.account import LoginFailure
    from models.db import session_scope

    with session_scope() as session:
        for failure in session.exec(select(LoginFailure)).all():
            failure.at -= by


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        missing_tool("Debian's chromium is not installed (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object, live_server: str) -> Iterator[object]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(20000)
    yield tab
    context.close()


def login(tab: object, username: str = ADMIN, password: str = ADMIN_PASSWORD) -> None:
    tab.goto("/login")  # type: ignore[attr-defined]
    tab.fill("input[name=username]", username)  # type: ignore[attr-defined]
    tab.fill("input[name=password]", password)  # type: ignore[attr-defined]
    tab.click("button:has-text('Sign in')")  # type: ignore[attr-defined]
    tab.wait_for_url(f"**/p/{PROCESS}")  # type: ignore[attr-defined]
