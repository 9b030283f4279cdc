"""The JSON API: bearer tokens (admin and viewer), the same operations and refusals as the dashboard, and a fuzz
run of schemathesis against the app's own OpenAPI schema (in-process) that must find no 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config import clock
from tests.helpers import fingerprint
from tests.web.conftest import ADMIN, PROCESS, VIEWER

BASE = f"/api/processes/{PROCESS}/stages/outline-feedback"


def issue(username: str) -> str:
    from models.db import session_scope
    from models.token_rules import issue_api_token

    with session_scope() as session:
        return issue_api_token(session, username, label="test", actor="test", now=clock.now()).secret


@pytest.fixture
def tokens(accounts: dict[str, str]) -> dict[str, str]:
    return {"admin": issue(ADMIN), "viewer": issue(VIEWER)}


@pytest.fixture
def api(accounts: dict[str, str]) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from consultrack.web.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_required_and_checked(api: Any, tokens: dict[str, str]) -> None:
    assert api.get("/api/processes").status_code == 401
    assert api.get("/api/processes", headers=bearer("not-a-token")).status_code == 401
    assert api.get("/api/processes", headers=bearer(tokens["viewer"])).json()[0]["key"] == PROCESS
    before = fingerprint()
    answer = api.post(f"{BASE}/skip", json={"reason": "no"}, headers=bearer(tokens["viewer"]))
    assert answer.status_code == 403 and "viewer" in answer.json()["error"]
    assert fingerprint() == before


def test_a_viewer_token_may_not_run_the_reschedule_preview(api: Any, tokens: dict[str, str]) -> None:
    """The preview is a change rolled back: as on the dashboard, only an admin asks for one."""
    before = fingerprint()
    answer = api.post(f"{BASE}/reschedule/preview", json={"end": "2025-04-15"}, headers=bearer(tokens["viewer"]))
    assert answer.status_code == 403 and "viewer" in answer.json()["error"]
    assert fingerprint() == before
    allowed = api.post(f"{BASE}/reschedule/preview", json={"end": "2025-04-15"}, headers=bearer(tokens["admin"]))
    assert allowed.status_code == 200 and allowed.json()["stages"][0]["key"] == "outline-feedback"


def test_tokens_are_stored_hashed(tokens: dict[str, str]) -> None:
    from sqlmodel import select

    from models.db import read_session
    from models.tokens import ApiToken

    with read_session() as session:
        stored = [t.token_hash for t in session.exec(select(ApiToken)).all()]
    assert stored and not set(stored) & set(tokens.values())


def test_revoked_token_and_disabled_account_are_refused(api: Any, tokens: dict[str, str]) -> None:
    from models.accounts import disable_account
    from models.db import session_scope
    from models.token_rules import revoke_api_token

    with session_scope() as session:
        revoke_api_token(session, 1, actor="test", now=clock.now())
    assert api.get("/api/processes", headers=bearer(tokens["admin"])).status_code == 401
    with session_scope() as session:
        disable_account(session, VIEWER, actor="test", now=clock.now())
    assert api.get("/api/processes", headers=bearer(tokens["viewer"])).status_code == 401


def test_operations_and_refusals(api: Any, tokens: dict[str, str], prefect_server: None) -> None:
    admin = bearer(tokens["admin"])
    refused = api.post(f"{BASE}/advance", json={}, headers=admin)
    assert refused.status_code == 409 and "waiting for responses from" in refused.json()["error"]
    assert refused.json()["code"] == "transition-refused"
    stored = fingerprint()
    preview = api.post(f"{BASE}/reschedule/preview", json={"end": "2025-04-15"}, headers=admin).json()
    assert fingerprint() == stored, "a preview stores nothing"
    assert [m["key"] for m in preview["stages"]][:2] == ["outline-feedback", "consultations"]
    deadline = f"{PROCESS}.deadline.outline-feedback@consultrack"
    moved = {e["uid"]: e for e in preview["events"]}[deadline]
    assert moved["after"] == "15 Apr 2025" and moved["sequence"][1] == moved["sequence"][0] + 1
    assert preview["reminders"] and all(r["before"] != r["after"] for r in preview["reminders"])
    for code in ("JP", "MN", "KP"):
        answer = api.post(f"{BASE}/responses", json={"member_state": code, "note": "<b>ok</b>"}, headers=admin)
        assert answer.status_code == 200, answer.text
    again = api.post(f"{BASE}/responses", json={"member_state": "JP"}, headers=admin)
    assert again.status_code == 409 and "already responded" in again.json()["error"]
    bad_date = api.post(f"{BASE}/responses", json={"member_state": "JP", "received_on": "20/03/2025"}, headers=admin)
    assert bad_date.status_code == 422 and bad_date.json()["code"] == "invalid-input"
    done = api.post(f"{BASE}/advance", json={}, headers=admin)
    assert done.status_code == 200 and done.json()["started"] == []  # consultations opens with its window
    twice = api.post(f"{BASE}/advance", json={}, headers=admin)
    assert twice.status_code == 409 and "already advanced" in twice.json()["error"]
    assert twice.json()["code"] == "conflict"
    detail = api.get(f"/api/processes/{PROCESS}", headers=admin).json()
    assert {s["key"]: s["state"] for s in detail["stages"]}["consultations"] == "planned"
    audit = api.get("/api/audit", params={"stage": "outline-feedback", "action": "stage."}, headers=admin).json()
    assert [e["actor"] for e in audit] == [ADMIN, ADMIN]
    # Advanced in error: undone the same day by the same admin, then a response withdrawn.
    no_reason = api.post(f"{BASE}/advance/undo", json={"reason": " "}, headers=admin)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]
    undone = api.post(f"{BASE}/advance/undo", json={"reason": "Advanced by mistake"}, headers=admin)
    assert undone.status_code == 200 and undone.json()["put_back"] == [], undone.text
    body = {"member_state": "JP", "reason": "Wrong file"}
    withdrawn = api.post(f"{BASE}/responses/withdraw", json=body, headers=admin)
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn"], withdrawn.text
    audit = api.get("/api/audit", params={"stage": "outline-feedback", "action": "response.withdraw"}, headers=admin)
    assert [e["reason"] for e in audit.json()] == ["Wrong file"]


def test_invite_to_a_meeting(api: Any, tokens: dict[str, str], prefect_server: None) -> None:
    """Inviting nobody is refused (422, nothing written); inviting twice invites nobody twice."""
    from sqlmodel import select

    from models.db import session_scope
    from models.process import Meeting

    admin, path = bearer(tokens["admin"]), f"/api/processes/{PROCESS}/meetings/{{}}/invite"
    with session_scope() as session:
        session.exec(select(Meeting).where(Meeting.key == "som-28")).one().attendees = []
    stored = fingerprint()
    nobody = api.post(path.format("som-28"), headers=admin)
    assert nobody.status_code == 422 and "invites nobody" in nobody.json()["error"]
    assert fingerprint() == stored
    first = api.post(path.format("nfp-2025-04"), headers=admin)
    assert first.status_code == 200 and first.json()["invited"] == 14  # focal points, alternates, secretariat
    assert api.post(path.format("nfp-2025-04"), headers=admin).json()["invited"] == 0


def test_fuzz_finds_no_server_error(accounts: dict[str, str], prefect_server: None) -> None:
    """Every operation of the published schema, with valid and invalid data, with an admin's token."""
    from hypothesis import given

    from consultrack.web.app import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    headers = bearer(issue(ADMIN))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            response = case.call(headers=headers)
            unhealthy = case.path == "/healthz" and response.status_code == 503  # no scheduler in this process
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500 or unhealthy, f"{where}: {response.text[:300]}"

        fuzz()
