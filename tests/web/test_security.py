"""Bad input at the dashboard: forged or missing CSRF tokens, expired sessions, viewers, wrong dates, markup.
Each gets one clear message and a 4xx; the stored data stays exactly as it was."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.helpers import fingerprint
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, PROCESS, VIEWER, VIEWER_PASSWORD, csrf_of, sign_in

STAGE = f"/p/{PROCESS}/stages/outline-feedback"
RESPONSE = {"member_state": "JP", "received_on": "2025-03-20", "channel": "e-mail", "note": "", "link": ""}


def test_pages_need_a_login(client: Any) -> None:
    for path in ("/", f"/p/{PROCESS}", STAGE, "/directory", "/audit", "/mailbox"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_wrong_password_one_message_for_every_cause(client: Any) -> None:
    messages = set()
    for username, password in ((ADMIN, "wrong password!"), ("nobody", "whatever123"), (ADMIN, "")):
        token = csrf_of(client.get("/login").text)
        answer = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
        assert answer.status_code in (401, 422)
        assert "session" not in answer.text.lower() or "sign in" in answer.text.lower()
        messages.add(answer.status_code)
    assert client.get(f"/p/{PROCESS}").status_code == 303, "still signed out"


def _attempt(client: Any, username: str, password: str) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


def test_repeated_wrong_passwords_throttle_that_username_for_a_while(client: Any) -> None:
    """On the real clock: a business clock standing on another day (the demo's) neither lifts nor prolongs it."""
    from datetime import timedelta

    from config import clock
    from models.accounts import LOGIN_FAILURE_WINDOW, MAX_LOGIN_FAILURES
    from tests.web.conftest import age_login_failures

    for _ in range(MAX_LOGIN_FAILURES):
        assert _attempt(client, ADMIN.upper(), "wrong password!").status_code == 401  # names are case-blind
    refused = _attempt(client, ADMIN, ADMIN_PASSWORD)  # the right password no longer helps...
    assert refused.status_code == 429 and "too many failed sign-ins" in refused.text
    assert "try again in 15 minutes" in refused.text
    assert client.get(f"/p/{PROCESS}").status_code == 303, "still signed out"
    assert _attempt(client, VIEWER, VIEWER_PASSWORD).status_code == 303  # ...for that name only
    with clock.frozen(clock.now() + 2 * LOGIN_FAILURE_WINDOW):  # the business clock moves on: still refused
        assert _attempt(client, ADMIN, ADMIN_PASSWORD).status_code == 429
    age_login_failures(LOGIN_FAILURE_WINDOW - timedelta(seconds=30))
    assert "try again in 1 minute<" in _attempt(client, ADMIN, ADMIN_PASSWORD).text
    age_login_failures(timedelta(seconds=31))  # ...and only for a while
    assert _attempt(client, ADMIN, ADMIN_PASSWORD).status_code == 303


def test_login_form_needs_its_csrf_token(client: Any) -> None:
    client.get("/login")
    answer = client.post("/login", data={"username": ADMIN, "password": ADMIN_PASSWORD})
    assert answer.status_code == 403
    assert "did not come from this site" in answer.text


@pytest.mark.parametrize("token", [None, "", "forged-token-value", "x" * 5000])
def test_forged_or_missing_csrf_changes_nothing(client: Any, token: str | None) -> None:
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    before = fingerprint()
    data = dict(RESPONSE) if token is None else {**RESPONSE, "csrf_token": token}
    answer = client.post(f"{STAGE}/respond", data=data)
    assert answer.status_code == 403
    assert "nothing was changed" in answer.text
    assert "Traceback" not in answer.text
    assert fingerprint() == before


def test_csrf_token_of_another_session_is_refused(client: Any, accounts: dict[str, str]) -> None:
    from fastapi.testclient import TestClient

    other = TestClient(client.app, follow_redirects=False)
    stolen = sign_in(other, ADMIN, ADMIN_PASSWORD)
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    before = fingerprint()
    assert client.post(f"{STAGE}/respond", data={**RESPONSE, "csrf_token": stolen}).status_code == 403
    assert fingerprint() == before


def test_viewer_may_look_but_not_change(client: Any) -> None:
    token = sign_in(client, VIEWER, VIEWER_PASSWORD)
    page = client.get(STAGE)
    assert page.status_code == 200 and 'action="/p/' not in page.text.split("Actions")[0][-200:]
    assert "form#respond" not in page.text and 'id="respond"' not in page.text
    before = fingerprint()
    for action, data in (
        ("respond", RESPONSE),
        ("advance", {}),
        ("skip", {"reason": "x"}),
        ("reschedule", {"end": "2025-04-15", "reason": "x"}),
    ):
        answer = client.post(f"{STAGE}/{action}", data={**data, "csrf_token": token})
        assert answer.status_code == 403, action
        assert "is a viewer: it may look but not change anything" in answer.text
    assert client.post("/directory/1/subscribe-link", data={"csrf_token": token}).status_code == 403
    assert client.get("/mailbox").status_code == 403
    assert fingerprint() == before


def test_expired_session_asks_to_sign_in_again(accounts: dict[str, str]) -> None:
    from fastapi.testclient import TestClient

    from consultrack.web.app import create_app

    app = create_app(session_idle=3600)
    client = TestClient(app, follow_redirects=False)
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    app.state.session_idle = 1  # only now: a slow sign-in on a loaded machine must not expire first
    before = fingerprint()
    time.sleep(2.1)
    answer = client.post(f"{STAGE}/respond", data={**RESPONSE, "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    login_page = client.get(answer.headers["location"])
    assert "Your session has expired" in login_page.text
    assert fingerprint() == before


def test_disabled_account_is_signed_out(client: Any) -> None:
    from config import clock
    from models.accounts import disable_account
    from models.db import session_scope

    sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert client.get(STAGE).status_code == 200
    with session_scope() as session:
        disable_account(session, ADMIN, actor="test", now=clock.now())
    assert client.get(STAGE).status_code == 303


@pytest.mark.parametrize(
    ("field", "value"),
    [("received_on", "20/03/2025"), ("received_on", "2025-02-30"), ("received_on", "yesterday"), ("received_on", "")],
)
def test_wrong_dates_get_one_clear_message(client: Any, field: str, value: str) -> None:
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    before = fingerprint()
    answer = client.post(f"{STAGE}/respond", data={**RESPONSE, field: value, "csrf_token": token})
    assert answer.status_code == 422
    assert "is not a date; use YYYY-MM-DD" in answer.text or "is required" in answer.text
    assert "Traceback" not in answer.text
    assert fingerprint() == before


def test_reschedule_preview_wrong_dates(client: Any) -> None:
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    before = fingerprint()
    for query in ("end=15-04-2025", "start=2025-13-01", "end=2025-02-01"):
        answer = client.get(f"{STAGE}/reschedule?{query}")
        assert answer.status_code == 422, query
        assert "Not done:" in answer.text
    assert fingerprint() == before


def test_security_headers_and_no_stack_traces(client: Any) -> None:
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    for path in (STAGE, "/login", "/no/such/page", f"/p/{PROCESS}/stages/<script>"):
        answer = client.get(path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "script-src" not in answer.headers["Content-Security-Policy"]
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
        assert "Traceback" not in answer.text
        assert "<script>" not in answer.text
    assert client.get("/no/such/page").status_code == 404


@pytest.mark.parametrize("base_url", ["https://tracker.example.org", "http://127.0.0.1:8000"])
def test_strict_transport_security_only_when_served_over_https(
    accounts: dict[str, str], base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from config.settings import reset_settings
    from consultrack.web.app import create_app

    monkeypatch.setenv("CONSULTRACK_BASE_URL", base_url)
    reset_settings()
    client = TestClient(create_app(), base_url=base_url, follow_redirects=False)
    for path in ("/login", "/healthz", "/no/such/page", f"/calendars/processes/{PROCESS}.ics"):
        hsts = client.get(path).headers.get("Strict-Transport-Security")
        assert hsts == ("max-age=31536000" if base_url.startswith("https") else None), path


def test_login_redirect_stays_on_this_site(client: Any) -> None:
    token = csrf_of(client.get("/login").text)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = client.post(
            "/login", data={"csrf_token": token, "username": ADMIN, "password": ADMIN_PASSWORD, "next": target}
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        token = csrf_of(client.get("/login").text)


def test_overdue_is_written_not_only_coloured(client: Any) -> None:
    from config import clock
    from tests.conftest import seoul

    sign_in(client, ADMIN, ADMIN_PASSWORD)
    clock.set_now(seoul("2025-04-03 09:00"))
    page = client.get(f"/p/{PROCESS}").text
    assert "OVERDUE · 3 days" in page
    assert 'class="g-row state-active overdue"' in page


def test_numbers_beyond_any_row_id_are_a_4xx(client: Any) -> None:
    """An id too large for the database's integer (OverflowError on SQLite) is bad input, not a 500."""
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    huge = str(10**20)
    for path in (f"/audit?before={huge}", "/audit?before=-1", "/audit?before=x"):
        answer = client.get(path)
        assert answer.status_code == 422 and "before" in answer.text, path
    before = fingerprint()
    for person in (huge, "0", "-3"):
        answer = client.post(f"/directory/{person}/subscribe-link", data={"csrf_token": token})
        assert answer.status_code in (404, 422), person
    assert fingerprint() == before
    assert client.get("/audit?before=2").status_code == 200


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(client: Any) -> None:
    """A cookie copied before sign-out (a shared machine, a stolen backup) opens nothing afterwards."""
    from fastapi.testclient import TestClient

    from consultrack.web.app import create_app
    from consultrack.web.security import SESSION_COOKIE

    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    copied = client.cookies.get(SESSION_COOKIE)
    assert copied and client.get(STAGE).status_code == 200
    other = TestClient(create_app(), follow_redirects=False)
    other.cookies.set(SESSION_COOKIE, copied)
    assert other.get(STAGE).status_code == 200, "the copy works while the session lives"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get(STAGE).status_code == 303
    other.cookies.set(SESSION_COOKIE, copied)
    answer = other.get(STAGE)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    before = fingerprint()
    assert other.post(f"{STAGE}/respond", data={**RESPONSE, "csrf_token": token}).status_code in (303, 403)
    assert fingerprint() == before


def test_the_cookie_carries_no_part_of_the_password_hash(client: Any) -> None:
    import base64
    import json

    from consultrack.web.security import SESSION_COOKIE
    from models.accounts import get_account
    from models.db import read_session

    sign_in(client, ADMIN, ADMIN_PASSWORD)
    payload = client.cookies.get(SESSION_COOKIE).split(".")[0]
    content = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    with read_session() as session:
        digest = get_account(session, ADMIN).password_hash
    assert not any(isinstance(v, str) and v and v in digest for v in content.values())
    assert set(content) >= {"login", "seen", "csrf_token"}
