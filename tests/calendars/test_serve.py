"""Feeds over HTTP: FastAPI's TestClient for the details, then real uvicorn servers on loopback with httpx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from config import clock
from consultrack.web.app import create_app
from models.db import session_scope
from models.directory import Person
from models.token_rules import issue_feed_token, revoke_feed_token
from tests.calendars.helpers import personal_body, process_body, state_body
from tests.conftest import ACTOR

ANNA, LI = "anna.volkova@example.org", "li.wei@example.org"
ROOT = Path(__file__).resolve().parents[2]


def _issue(email: str) -> str:
    with session_scope() as session:
        return issue_feed_token(session, email, actor=ACTOR, now=clock.now()).secret


@pytest.fixture
def client(neaspec: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_public_feeds_with_their_headers(client: TestClient, neaspec: str) -> None:
    reply = client.get(f"/calendars/processes/{neaspec}.ics")
    assert reply.status_code == 200 and reply.content == process_body(neaspec)
    assert reply.headers["content-type"] == "text/calendar; charset=utf-8"
    assert reply.headers["cache-control"] == "public, max-age=300"
    assert reply.headers["etag"].startswith('"') and reply.headers["last-modified"].endswith(" GMT")
    assert reply.headers["content-disposition"] == f'inline; filename="{neaspec}.ics"'
    for code in ("RU", "ru"):
        reply = client.get(f"/calendars/member-states/{code}.ics")
        assert reply.status_code == 200 and reply.content == state_body("RU")


def test_conditional_requests(client: TestClient, neaspec: str) -> None:
    url = f"/calendars/processes/{neaspec}.ics"
    first = client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    def status(**headers: str) -> int:
        reply = client.get(url, headers=headers)
        if reply.status_code == 304:
            assert reply.content == b"" and reply.headers["etag"] == etag
            assert reply.headers["cache-control"] == "public, max-age=300"
        return reply.status_code

    assert status(**{"If-None-Match": etag}) == 304
    assert status(**{"If-None-Match": f'"nope", W/{etag}'}) == 304  # weak comparison, lists
    assert status(**{"If-None-Match": "*"}) == 304
    assert status(**{"If-None-Match": '"nope"'}) == 200
    assert status(**{"If-Modified-Since": modified}) == 304
    later = format_datetime(first_modified(modified) + timedelta(days=1), usegmt=True)
    earlier = format_datetime(first_modified(modified) - timedelta(seconds=1), usegmt=True)
    assert status(**{"If-Modified-Since": later}) == 304
    assert status(**{"If-Modified-Since": earlier}) == 200
    assert status(**{"If-Modified-Since": "yesterday, at tea time"}) == 200
    assert status(**{"If-None-Match": '"nope"', "If-Modified-Since": later}) == 200  # the ETag decides


def first_modified(header: str) -> datetime:
    return parsedate_to_datetime(header)


def test_personal_feed_and_its_privacy_headers(client: TestClient, neaspec: str) -> None:
    anna, li = _issue(ANNA), _issue(LI)
    reply = client.get(f"/calendars/{anna}.ics")
    assert reply.status_code == 200 and reply.content == personal_body(ANNA)
    assert reply.headers["cache-control"] == "private, max-age=300"
    assert reply.headers["x-robots-tag"] == "noindex, nofollow" and reply.headers["referrer-policy"] == "no-referrer"
    assert client.get(f"/calendars/{li}.ics").content == personal_body(LI) != reply.content
    again = client.get(f"/calendars/{anna}.ics", headers={"If-None-Match": reply.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "private, max-age=300"


def test_bad_requests_never_fail_and_never_leak(client: TestClient, neaspec: str) -> None:
    anna = _issue(ANNA)
    revoked = _issue(ANNA)
    with session_scope() as session:
        revoke_feed_token(session, revoked, actor=ACTOR, now=clock.now())
    huge = "x=" + "a" * 5000
    cases = {
        f"/calendars/{revoked}.ics": 404,
        f"/calendars/{anna.swapcase()}.ics": 404,
        f"/calendars/{anna[:-1]}.ics": 404,
        f"/calendars/{'B' * 32}.ics": 404,
        "/calendars/abc.ics": 404,
        f"/calendars/{anna}": 404,
        f"/calendars/{anna}.ics.bak": 404,
        f"/calendars/{anna}%00.ics": 404,
        "/calendars/..%2F..%2Fdata%2Fconsultrack.db.ics": 404,
        "/calendars/%2e%2e/%2e%2e/etc/passwd.ics": 404,
        "/calendars/processes/..%2F..%2Fetc%2Fpasswd.ics": 404,
        "/calendars/processes/nope.ics": 404,
        "/calendars/member-states/XX.ics": 404,
        "/calendars/member-states/RUS.ics": 404,
        "/calendars/member-states/%E2%80%AE.ics": 404,
        f"/subscribe/{revoked}": 404,
        f"/subscribe/{anna.swapcase()}": 404,
        "/subscribe/..%2F..%2Fetc%2Fpasswd": 404,
        f"/calendars/{anna}.ics?{huge}": 400,
        f"/calendars/{'B' * 32}.ics?{huge}": 400,
        f"/calendars/processes/{neaspec}.ics?{huge}": 400,
        f"/subscribe/{anna}?{huge}": 400,
    }
    personal = personal_body(ANNA)
    for path, expected in cases.items():
        client.cookies.clear()
        reply = client.get(path)
        assert reply.status_code == expected, path
        assert personal not in reply.content and b"BEGIN:VCALENDAR" not in reply.content, path
        if not path.startswith("/calendars/"):
            continue
        # One plain reply per status: no page, no session cookie, nothing telling one miss from another.
        plain = b"not found\n" if expected == 404 else b"query string too long\n"
        assert reply.content == plain and reply.headers["content-type"].startswith("text/plain"), path
        assert "set-cookie" not in reply.headers, path
    with session_scope() as session:  # a person made inactive loses their feed
        session.exec(select(Person).where(Person.email == ANNA)).one().active = False
    assert client.get(f"/calendars/{anna}.ics").status_code == 404


def test_the_subscribe_page(client: TestClient, neaspec: str) -> None:
    with session_scope() as session:
        session.exec(select(Person).where(Person.email == ANNA)).one().name = '<script>alert("x")</script> Anna'
    token = _issue(ANNA)
    reply = client.get(f"/subscribe/{token}")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert reply.headers["cache-control"] == "no-store" and reply.headers["referrer-policy"] == "no-referrer"
    page = reply.text
    assert "<script>" not in page and "&lt;script&gt;" in page  # autoescaped
    assert f'href="webcal://127.0.0.1:8000/calendars/{token}.ics"' in page
    assert "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2F127.0.0.1%3A8000%2Fcalendars%2F" in page
    assert "https://outlook.office.com/calendar/0/addfromweb?url=http%3A%2F%2F127.0.0.1%3A8000" in page
    assert "https://outlook.live.com/calendar/0/addfromweb?url=" in page
    assert ANNA not in page and LI not in page
    # Not a page that could pass for phishing: the process, the calendar's name, the secretariat to ask.
    assert "Development of the NEASPEC Strategic Plan 2026-2030" in page
    assert "<strong>NEASPEC SP 2026-2030: Russian Federation (&lt;script&gt;" in page
    assert 'href="mailto:minji.secretariat@example.org"' in page


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_server() -> Iterator[str]:
    """The app in its own process, as deployed: settings come from the environment the fixtures set."""
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "consultrack.web.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/calendars/member-states/XX.ics", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"uvicorn did not start: {server.stdout.read()!r}") from None  # type: ignore[union-attr]
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_real_servers_serve_identical_feeds_and_validators(neaspec: str) -> None:
    """Two uvicorn processes (two replicas) over one database: the same bytes and the same ETag."""
    anna = _issue(ANNA)
    with uvicorn_server() as one, uvicorn_server() as two, httpx.Client(timeout=10) as http:
        replies = [http.get(f"{base}/calendars/{anna}.ics") for base in (one, two)]
        assert [r.status_code for r in replies] == [200, 200]
        assert replies[0].content == replies[1].content == personal_body(ANNA)
        assert replies[0].headers["etag"] == replies[1].headers["etag"]
        assert replies[0].headers["last-modified"] == replies[1].headers["last-modified"]
        assert replies[0].headers["content-type"] == "text/calendar; charset=utf-8"
        cached = http.get(f"{two}/calendars/{anna}.ics", headers={"If-None-Match": replies[0].headers["etag"]})
        assert cached.status_code == 304 and cached.content == b""
        public = http.get(f"{one}/calendars/processes/{neaspec}.ics")
        assert public.status_code == 200 and public.content == process_body(neaspec)
        for path, expected in (
            (f"/calendars/{anna.swapcase()}.ics", 404),
            (f"/calendars/{'B' * 32}.ics", 404),
            ("/calendars/..%2F..%2Fetc%2Fpasswd.ics", 404),
            (f"/calendars/{anna}.ics?q={'a' * 4000}", 400),
        ):
            reply = http.get(f"{one}{path}")
            assert reply.status_code == expected, path
        big = http.get(f"{one}/calendars/{anna}.ics?q={'a' * 60_000}")
        assert big.status_code == 400 and b"BEGIN:VCALENDAR" not in big.content
        assert _raw_status(one, f"/calendars/{anna}.ics?q={'a' * 200_000}") in (b"400", b"414", b"431")


def _raw_status(base: str, target: str) -> bytes:
    """A request line longer than any HTTP client library will send: the server must refuse it, not crash."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while b"\r\n" not in reply and (chunk := sock.recv(4096)):
            reply += chunk
    return reply.split(b" ")[1]


def test_changes_and_revocations_apply_on_the_next_request(client: TestClient, neaspec: str) -> None:
    from datetime import date

    from models.schedule import apply_reschedule

    token = _issue(ANNA)
    first = client.get(f"/calendars/{token}.ics")
    assert client.get(f"/calendars/{token}.ics", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    with session_scope() as session:
        apply_reschedule(
            session, neaspec, "consultations", actor=ACTOR, now=clock.now(), reason="later", end=date(2025, 5, 9)
        )
    second = client.get(f"/calendars/{token}.ics", headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    assert b"DTEND;VALUE=DATE:20250510" in second.content and second.content == personal_body(ANNA)
    with session_scope() as session:
        revoke_feed_token(session, token, actor=ACTOR, now=clock.now())
    assert client.get(f"/calendars/{token}.ics").status_code == 404  # although its feed is cached


def test_head_answers_like_get_without_a_body(client: TestClient, neaspec: str) -> None:
    anna = _issue(ANNA)
    for path in (f"/calendars/processes/{neaspec}.ics", "/calendars/member-states/JP.ics", f"/calendars/{anna}.ics"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["etag"] == got.headers["etag"], path
        assert head.headers["last-modified"] == got.headers["last-modified"], path
    assert client.head(f"/calendars/{anna.swapcase()}.ics").status_code == 404


def test_last_modified_moves_when_only_the_directory_changes(client: TestClient, neaspec: str) -> None:
    """A person's new zone changes their feed (deadline times) without touching any stage: a client asking
    If-Modified-Since alone must get the new feed, not a 304."""
    from models.directory_import import import_directory, read_directory
    from tests.conftest import DIRECTORY_SAMPLES_DIR

    anna = _issue(ANNA)
    first = client.get(f"/calendars/{anna}.ics")
    directory = read_directory(DIRECTORY_SAMPLES_DIR / "sample.yaml")
    for person in directory.people:
        if person.email == ANNA:
            person.timezone = "Asia/Vladivostok"
    with clock.frozen(clock.now() + timedelta(days=1)), session_scope() as session:
        import_directory(session, directory, source="test", actor=ACTOR, now=clock.now())
    second = client.get(f"/calendars/{anna}.ics", headers={"If-Modified-Since": first.headers["last-modified"]})
    assert second.status_code == 200 and second.content != first.content
    assert b"Asia/Vladivostok" in second.content
    assert first_modified(second.headers["last-modified"]) > first_modified(first.headers["last-modified"])
