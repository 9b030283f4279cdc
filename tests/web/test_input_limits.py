"""Dates beyond reason and control characters through the dashboard and the API: one clear refusal (422, the
page shown again with the message), nothing stored, no flow's half-work left behind."""

from __future__ import annotations

import html
from typing import Any

import pytest

from tests.helpers import fingerprint
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, PROCESS, sign_in
from tests.web.test_api import api, bearer, issue  # noqa: F401 - the api fixture

STAGE = f"/p/{PROCESS}/stages/outline-feedback"
BASE = f"/api/processes/{PROCESS}/stages/outline-feedback"
ABSURD = [
    ({"end": "0001-01-01"}, "the new end (0001-01-01) is too early: the dates of this process"),
    ({"end": "9999-12-31"}, "the new end (9999-12-31) is too late: the dates of this process"),
    ({"start": "0001-01-01"}, "the new start (0001-01-01) is too early"),
    (
        {"end": "2041-03-31"},
        "the new end (2041-03-31) is too late: the dates of this process (5 years "
        "before its first stage, 13 December 2024, to 15 years after)",
    ),
]


@pytest.mark.parametrize(("dates", "says"), ABSURD)
def test_api_reschedule_preview_and_apply_refuse_absurd_dates(
    api: Any,  # noqa: F811
    accounts: dict[str, str],
    prefect_server: None,
    dates: dict[str, str],
    says: str,
) -> None:
    admin = bearer(issue(ADMIN))
    before = fingerprint()
    preview = api.post(f"{BASE}/reschedule/preview", json=dates, headers=admin)
    assert preview.status_code == 422 and says in preview.json()["error"]
    applied = api.post(f"{BASE}/reschedule", json={**dates, "reason": "typo"}, headers=admin)
    assert applied.status_code == 422 and says in applied.json()["error"]
    assert fingerprint() == before


@pytest.mark.parametrize(("dates", "says"), ABSURD)
def test_form_reschedule_refuses_absurd_dates(
    client: Any, prefect_server: None, dates: dict[str, str], says: str
) -> None:
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    before = fingerprint()
    previewed = client.get(f"{STAGE}/reschedule", params=dates)
    applied = client.post(f"{STAGE}/reschedule", data={**dates, "reason": "typo", "csrf_token": token})
    for page in (previewed, applied):
        assert page.status_code == 422
        assert "Not done:" in page.text and says in html.unescape(page.text)
        field, value = next(iter(dates.items()))
        assert f'name="{field}" value="{value}"' in page.text  # the stage's form again, with what was typed
    assert fingerprint() == before


def test_one_line_fields_refuse_line_breaks(api: Any, accounts: dict[str, str]) -> None:  # noqa: F811
    """The channel is one line (it goes into the audit log and e-mails); the note may hold line breaks."""
    admin = bearer(issue(ADMIN))
    before = fingerprint()
    answer = api.post(f"{BASE}/responses", json={"member_state": "JP", "channel": "e-mail\rX-Evil: 1"}, headers=admin)
    assert answer.status_code == 422
    assert answer.json()["error"] == "channel contains a carriage return (CR): it is one line of text"
    answer = api.post(f"{BASE}/responses", json={"member_state": "JP", "note": "o\x0bk"}, headers=admin)
    assert answer.status_code == 422 and "note contains a vertical tab (VT)" in answer.json()["error"]
    assert fingerprint() == before


def test_control_characters_in_lookups_and_filters_are_a_4xx(api: Any, accounts: dict[str, str]) -> None:  # noqa: F811
    """Found by the API fuzz on PostgreSQL, which fails on a NUL in a query: a key with control characters names
    nothing (404, as any unknown key), a filter with them is refused (422), on every face."""
    viewer = bearer(issue(ADMIN))
    for path in ("/api/processes/a%00b", f"/api/processes/{PROCESS}/stages/a%00b", "/calendars/processes/a%00b.ics"):
        assert api.get(path, headers=viewer).status_code == 404, path
    answer = api.get("/api/audit", params={"process": "a\x00b"}, headers=viewer)
    assert (
        answer.status_code == 422
        and answer.json()["error"] == "the process filter contains a NUL character, which is not allowed"
    )


def test_control_characters_in_the_dashboards_lookups_and_filters(client: Any) -> None:
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    page = client.get("/audit", params={"actor": "x\x00"})
    assert page.status_code == 422 and "the actor filter contains a NUL character" in page.text
    assert client.get(f"/p/{PROCESS}/stages/a%00b").status_code == 404


def test_pages_still_show_dates_stored_before_they_were_bounded(client: Any) -> None:
    """Rows written before dates were bounded (here with SQL, as old data would be) still show on the timeline, its
    Gantt and the stage pages, so that the secretariat can see them and move them back."""
    from datetime import date

    from sqlalchemy import text

    from models.db import session_scope

    with session_scope() as session:
        session.execute(
            text("UPDATE stage SET start_date = :day, version = version + 1 WHERE key = 'consultations'"),
            {"day": date(1, 1, 1)},
        )
        session.execute(
            text("UPDATE stage SET end_date = :day, due_date = :day, version = version + 1 WHERE key = 'draft-review'"),
            {"day": date(9999, 12, 31)},
        )
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    timeline = client.get(f"/p/{PROCESS}")
    assert timeline.status_code == 200 and "9999" in timeline.text
    for key, shown in (("consultations", "0001"), ("draft-review", "9999")):
        page = client.get(f"/p/{PROCESS}/stages/{key}")
        assert page.status_code == 200 and shown in page.text, key
