"""The read-only pages and the directory's subscribe links, through the app in-process."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import ADMIN, ADMIN_PASSWORD, PROCESS, sign_in


def test_timeline_stage_directory_audit(client: Any) -> None:
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert client.get("/").headers["location"] == f"/p/{PROCESS}"
    timeline = client.get(f"/p/{PROCESS}").text
    assert timeline.count('<li class="g-row ') == 9 and 'class="g-today-tag"' in timeline
    assert "Adoption at SOM-28" in timeline and "to be confirmed" in timeline
    stage = client.get(f"/p/{PROCESS}/stages/outline-feedback").text
    assert "Still missing:" in stage and "waiting for responses from" in stage
    assert stage.count('class="todo"') == 3 and stage.count('class="done"') == 3
    assert "response from the Republic of Korea" in stage and "10 Mar 2025" in stage
    directory = client.get("/directory").text
    assert "Japan" in directory and "focal point" in directory
    audit = client.get("/audit", params={"action": "response.record"}).text
    assert audit.count("<code>response.record</code>") == 3
    assert "stage.advance" not in audit.split("<tbody>")[1]
    assert client.get("/audit", params={"actor": "%_"}).status_code == 200


def test_issue_a_subscribe_link_shown_once(client: Any) -> None:
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    directory = client.get("/directory").text
    person_id = re.search(r'action="/directory/(\d+)/subscribe-link"', directory).group(1)  # type: ignore[union-attr]
    issued = client.post(f"/directory/{person_id}/subscribe-link", data={"csrf_token": token})
    assert issued.status_code == 200
    link = re.search(r'href="(http://[^"]+/subscribe/[^"]+)"', issued.text).group(1)  # type: ignore[union-attr]
    path = "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 200
    assert "1 link issued" in client.get("/directory").text
    assert path.rsplit("/", 1)[1] not in client.get("/directory").text, "the secret is never shown again"


def test_the_directory_lists_the_focal_point_first_and_e_mails_or_revokes_links(client: Any, data_dir: Any) -> None:
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    directory = client.get("/directory").text
    japan = [row for row in directory.split("<tr ")[1:] if "Japan" in row]
    assert ["focal point" in japan[0], "alternate focal point" in japan[1]] == [True, True]
    person_id = re.search(r'id="person-(\d+)"', japan[0]).group(1)  # type: ignore[union-attr]
    sent = client.post(f"/directory/{person_id}/subscribe-link", data={"csrf_token": token, "send": "yes"})
    assert sent.status_code == 200 and "The subscribe page was e-mailed to <strong>sato.yuki@example.org" in sent.text
    link = re.search(r'href="(http://[^"]+/subscribe/[^"]+)"', sent.text).group(1)  # type: ignore[union-attr]
    path = "/" + link.split("/", 3)[3]
    mails = [p.read_text(errors="replace") for p in (data_dir / "mailbox").glob("*.eml")]
    assert any("sato.yuki@example.org" in m and path in m for m in mails), "the subscribe e-mail is in the sink"
    assert f'action="/directory/{person_id}/revoke-links"' in client.get("/directory").text
    revoked = client.post(f"/directory/{person_id}/revoke-links", data={"csrf_token": token}, follow_redirects=True)
    assert "1 calendar link of Sato Yuki revoked." in revoked.text
    assert client.get(path).status_code == 404  # the link stops working at once


def test_mailbox_lists_and_shows_messages(client: Any, data_dir: Any) -> None:
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    box = data_dir / "mailbox"
    box.mkdir(exist_ok=True)
    (box / "m1@example.org.eml").write_bytes(
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: <b>Reminder</b>\r\nMessage-ID: <m1@example.org>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlease respond by 31 March.\r\n"
    )
    listing = client.get("/mailbox").text
    assert "&lt;b&gt;Reminder&lt;/b&gt;" in listing
    message = client.get("/mailbox/m1@example.org.eml").text
    assert "Please respond by 31 March." in message
    assert client.get("/mailbox/..%2Fconsultrack.db").status_code == 404


def test_reminders_of_an_earlier_deadline_say_which(client: Any) -> None:
    from datetime import date

    from sqlmodel import select

    from config import clock
    from models import schedule
    from models.db import session_scope
    from models.enums import ReminderStatus
    from models.reminder import Reminder
    from notifications.reminders.planner import replan_key

    with session_scope() as s:
        replan_key(s, PROCESS, clock.now())
        sent = s.exec(select(Reminder).where(Reminder.rule == "before").order_by(Reminder.send_at)).first()
        assert sent is not None and sent.due_date_seen == date(2025, 3, 31)
        sent.status = ReminderStatus.SENT
    with session_scope() as s:
        schedule.apply_reschedule(
            s, PROCESS, "outline-feedback", actor="test", now=clock.now(), reason="a month more", end=date(2025, 4, 30)
        )
        replan_key(s, PROCESS, clock.now())
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    page = client.get(f"/p/{PROCESS}/stages/outline-feedback").text
    section = {m.group(1): m.group(2) for m in re.finditer(r'class="rem rem-(\w+)">(.*?)</details>', page, re.S)}
    assert section["sent"].count("for the deadline of 2025-03-31") == 1
    assert "for the deadline of" not in section["pending"]  # the planned ones are for the deadline shown above


def test_the_timeline_says_when_reminders_failed_or_wait(client: Any) -> None:
    from datetime import timedelta

    from sqlmodel import select

    from config import clock
    from models.db import session_scope
    from models.enums import ReminderStatus
    from models.reminder import Reminder
    from notifications.reminders.planner import replan_key

    sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert "mail-alerts" not in client.get(f"/p/{PROCESS}").text  # nothing to say: nothing said
    with session_scope() as s:
        replan_key(s, PROCESS, clock.now())
        first, second, third = s.exec(
            select(Reminder).where(Reminder.status == ReminderStatus.PENDING).order_by(Reminder.id).limit(3)
        ).all()
        first.status, first.last_error = ReminderStatus.FAILED, "550 5.1.1 no such mailbox"
        for row in (second, third):
            row.last_error = "SMTP login refused: 535 5.7.8 bad credentials"
            row.next_attempt_at = clock.real_now() + timedelta(minutes=4)  # a real instant
    page = client.get(f"/p/{PROCESS}").text
    assert "1 reminder failed</strong> for" in page and "/stages/outline-feedback" in page
    assert "2 reminders waiting for another try</strong>: SMTP login refused: 535" in page
    assert "check CONSULTRACK_SMTP_USERNAME and CONSULTRACK_SMTP_PASSWORD" in page


def test_each_responded_row_offers_its_correction_and_a_refusal_is_shown_beside_it(client: Any) -> None:
    token = sign_in(client, ADMIN, ADMIN_PASSWORD)
    stage = client.get(f"/p/{PROCESS}/stages/outline-feedback").text
    assert stage.count('action="/p/neaspec-sp-2026-2030/stages/outline-feedback/withdraw-response"') == 3
    assert 'id="correct-KR"' in stage and 'id="correct-JP"' not in stage  # Japan has not responded
    refused = client.post(
        f"/p/{PROCESS}/stages/outline-feedback/withdraw-response",
        data={"csrf_token": token, "member_state": "KR", "reason": " "},
    )
    assert refused.status_code == 422
    beside = refused.text.split('id="withdraw-KR"')[1].split("</form>")[0]
    assert 'class="field-error"' in beside and "reason to withdraw a response is required" in beside
    from config import clock
    from models import lifecycle
    from models.db import session_scope

    with session_scope() as session:
        lifecycle.withdraw_response(
            session, PROCESS, "outline-feedback", "KR", actor=ADMIN, now=clock.now(), reason="Meant for the SOM"
        )
    page = client.get(f"/p/{PROCESS}/stages/outline-feedback").text
    assert "Withdrawn responses (1)" in page and "Meant for the SOM" in page and 'id="correct-KR"' not in page
