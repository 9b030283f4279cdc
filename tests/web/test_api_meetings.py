"""The API's meeting routes: a move through a real flow, and bad input as 422 naming the field, writing nothing."""

from __future__ import annotations

from typing import Any

from tests.helpers import fingerprint
from tests.web.conftest import PROCESS
from tests.web.test_api import api, bearer, tokens  # noqa: F401 - fixtures

MEETINGS = f"/api/processes/{PROCESS}/meetings"


def test_move_and_bad_input(api: Any, tokens: dict[str, str], prefect_server: None) -> None:  # noqa: F811
    admin = bearer(tokens["admin"])
    stored = fingerprint()
    refusals = [
        ("nfp-2025-05/move", {"date": "2025-04-25"}, "unknown meeting 'nfp-2025-05'"),
        ("nfp-2025-04/move", {"start": "18:00", "end": "15:00"}, "end time: the meeting ends (15:00) before"),
        ("nfp-2025-04/move", {"timezone": "Asia/Atlantis"}, "time zone: unknown time zone"),
        ("nfp-2025-04/move", {"date": "2027-01-05"}, "outside every stage of the process"),
        ("nfp-2025-04/edit", {"online_link": "ftp://meet.example.org"}, "online link: 'ftp://meet.example.org' is not"),
    ]
    for path, body, says in refusals:
        answer = api.post(f"{MEETINGS}/{path}", json=body, headers=admin)
        assert answer.status_code == 422 and says in answer.json()["error"], (path, answer.text)
        assert answer.json()["code"] == "invalid-input"
    assert fingerprint() == stored

    edited = api.post(f"{MEETINGS}/nfp-2025-04/edit", json={"online_link": "https://m.example.org/j/1"}, headers=admin)
    assert edited.status_code == 200, edited.text
    moved = api.post(f"{MEETINGS}/nfp-2025-04/move", json={"date": "2025-04-24", "reason": "NFPs"}, headers=admin)
    assert moved.status_code == 200 and moved.json()["when"] == "24 April 2025, 15:00-18:00 (Asia/Seoul)"
    assert moved.json()["version"] == 3
    listed = {m["meeting"]: m for m in api.get(MEETINGS, headers=bearer(tokens["viewer"])).json()}
    assert listed["nfp-2025-04"]["has_joining_details"] is True and "m.example.org" not in str(listed)
    assert listed["som-28"]["tentative"] is True
    assert api.post(f"{MEETINGS}/nfp-2025-04/cancel", json={"reason": "merged"}, headers=admin).status_code == 200
    again = api.post(f"{MEETINGS}/nfp-2025-04/move", json={"date": "2025-04-25"}, headers=admin)
    assert again.status_code == 422 and "a cancelled meeting cannot be moved" in again.json()["error"]
