"""What protects the dashboard keeps to the real clock whatever day the business clock stands on (the demo freezes
it): five refused sign-ins lock a name out until the window passes in real time, and a login session ends after
its idle hours of real time. Each runs with the business clock frozen in the past and in the future."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from config import clock
from models.accounts import LOGIN_FAILURE_WINDOW, MAX_LOGIN_FAILURES
from tests.conftest import seoul
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, PROCESS, csrf_of

FROZEN = [seoul("2025-03-20 09:00"), seoul("2031-06-02 09:00")]
FROZEN_IDS = ["frozen-in-the-past", "frozen-in-the-future"]


def try_sign_in(client: Any, password: str) -> Any:
    page = client.get("/login")
    return client.post(
        "/login", data={"csrf_token": csrf_of(page.text), "username": ADMIN, "password": password, "next": "/"}
    )


@pytest.mark.parametrize("business", FROZEN, ids=FROZEN_IDS)
def test_a_throttled_name_is_usable_again_once_the_window_passes_in_real_time(client: Any, business: datetime) -> None:
    clock.set_now(business)
    for _ in range(MAX_LOGIN_FAILURES):
        assert try_sign_in(client, "a wrong password").status_code == 401
    refused = try_sign_in(client, ADMIN_PASSWORD)
    assert refused.status_code == 429 and "too many failed sign-ins" in refused.text
    with clock.real_time_passed(LOGIN_FAILURE_WINDOW / 2):
        assert try_sign_in(client, ADMIN_PASSWORD).status_code == 429  # the window is not over yet
    with clock.real_time_passed(LOGIN_FAILURE_WINDOW + timedelta(seconds=1)):
        assert try_sign_in(client, ADMIN_PASSWORD).status_code == 303  # the business clock has not moved


@pytest.mark.parametrize("business", FROZEN, ids=FROZEN_IDS)
def test_a_login_session_ends_after_its_idle_hours_of_real_time(client: Any, business: datetime) -> None:
    from consultrack.web.security import SESSION_IDLE

    clock.set_now(business)
    assert try_sign_in(client, ADMIN_PASSWORD).status_code == 303
    clock.set_now(business + timedelta(days=400))  # the business clock jumps: the session does not care
    assert client.get(f"/p/{PROCESS}").status_code == 200
    with clock.real_time_passed(timedelta(seconds=SESSION_IDLE + 60)):
        expired = client.get(f"/p/{PROCESS}")
        assert expired.status_code == 303 and expired.headers["location"].startswith("/login")
        assert "Your session has expired" in client.get(expired.headers["location"]).text
