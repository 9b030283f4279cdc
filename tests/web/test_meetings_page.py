"""The meetings page: each meeting's forms, and bad input shown beside its field with nothing written (no flow runs:
the page checks the form with the rules' own checks first)."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import fingerprint
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, PROCESS, sign_in

PAGE = f"/p/{PROCESS}/meetings"


def _move(client: Any, token: str, **fields: str) -> Any:
    form = {"csrf_token": token, "date": "2025-04-10", "start": "15:00", "end": "18:00", "timezone": "Asia/Seoul"}
    return client.post(f"{PAGE}/nfp-2025-04/move", data={**form, **fields})


def test_bad_input_is_shown_beside_its_field(client: Any) -> None:
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    page = client.get(PAGE).text
    assert "Twenty-eighth Senior Officials Meeting (SOM-28)" in page and "to be confirmed" in page
    assert 'action="/p/neaspec-sp-2026-2030/meetings/nfp-2025-04/move"' in page
    stored = fingerprint()
    cases = [
        ({"end": "14:00"}, "end", "the meeting ends (14:00) before it starts (15:00)"),
        ({"timezone": "Asia/Atlantis"}, "timezone", "unknown time zone"),
        ({"date": "2026-06-01"}, "date", "outside every stage of the process"),
        ({"date": "25/04/2025"}, "date", "is not a date"),
    ]
    for typed, field, says in cases:
        answer = _move(client, token, **typed)
        assert answer.status_code == 422, answer.text
        eid = f"err-nfp-2025-04-move-{field}"
        html = re.search(r'id="move-nfp-2025-04".*?</form>', answer.text, re.S).group(0)  # type: ignore[union-attr]
        tag = re.search(rf'<input name="{field}"[^>]*>', html)
        assert tag and 'aria-invalid="true"' in tag.group(0) and f'aria-describedby="{eid}"' in tag.group(0), field
        beside = re.search(rf'id="{eid}" role="alert">([^<]*)<', html)
        assert beside and says in beside.group(1).replace("&#39;", "'"), (field, beside)
        for value in typed.values():
            assert f'value="{value}"' in html  # the form as it was typed
    bad_link = client.post(
        f"{PAGE}/nfp-2025-04/edit",
        data={"csrf_token": token, "title": "NFP meeting", "online_link": "http://meet.example.org/j/1"},
    )
    assert bad_link.status_code == 422 and 'aria-describedby="err-nfp-2025-04-edit-online_link"' in bad_link.text
    unknown = client.post(f"{PAGE}/nfp-2025-05/cancel", data={"csrf_token": token, "reason": "x"})
    assert unknown.status_code == 422 and "unknown meeting" in unknown.text
    assert fingerprint() == stored


def test_a_meeting_gated_stage_shows_attendance_not_waiting_responses(client: Any) -> None:
    """Consultations is gated by the NFP meeting: its page lists each State's attendance (as recorded), and no
    response matrix of six States "waiting" for something the gate does not need."""
    from config import clock
    from models.db import session_scope
    from models.enums import Attendance
    from models.meetings import find_meeting, record_attendance
    from models.queries import get_process
    from tests.conftest import ACTOR

    sign_in(client, ADMIN, ADMIN_PASSWORD)
    with session_scope() as session:
        meeting = find_meeting(session, get_process(session, PROCESS), "nfp-2025-04")
        record_attendance(session, meeting, {"JP": Attendance.REGISTERED}, actor=ACTOR, now=clock.now())
    page = client.get(f"/p/{PROCESS}/stages/consultations").text
    assert "Attendance at the Meeting of NEASPEC National Focal Points" in page
    assert "Responses from member States" not in page and 'class="waiting"' not in page
    japan = re.search(r"<th scope=\"row\">Japan</th><td>([^<]*)<", page)
    assert japan and japan.group(1) == "registered"
    assert page.count("not recorded") == 5
    feedback = client.get(f"/p/{PROCESS}/stages/outline-feedback").text  # a responses stage is as before
    assert "Responses from member States" in feedback and "Attendance at" not in feedback


def test_add_a_meeting_from_the_page(client: Any, prefect_server: None) -> None:
    """The dashboard adds a meeting as the CLI does: bad input beside its field with nothing written, then the
    meeting, in the stage whose window holds its date."""
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert 'id="add-new"' in client.get(PAGE).text
    form = {
        "csrf_token": token,
        "key": "nfp-2025-10",
        "title": "Final meeting of the National Focal Points",
        "kind": "nfp_meeting",
        "date": "2025-10-02",
        "start": "15:00",
        "end": "14:00",
        "timezone": "Asia/Seoul",
        "attendees": ["member_states", "secretariat"],
    }
    stored = fingerprint()
    bad = client.post(PAGE, data=form)
    assert bad.status_code == 422 and 'aria-describedby="err-new-add-end"' in bad.text
    assert 'value="Final meeting of the National Focal Points"' in bad.text  # the form as it was typed
    assert fingerprint() == stored
    added = client.post(PAGE, data={**form, "end": "18:00"}, follow_redirects=True)
    assert added.status_code == 200, added.text
    assert "\u201cFinal meeting of the National Focal Points\u201d added" in added.text
    card = added.text.split('id="m-nfp-2025-10"')[1].split("</section>")[0]
    assert "National Focal Points meeting on the final draft</a>" in card  # the stage whose window holds 2 October
    assert "2 October 2025, 15:00-18:00 (Asia/Seoul)" in card
