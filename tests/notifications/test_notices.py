"""Change notices: a deadline moved, a stage skipped or completed early tells each person who still owes, once,
at the next sweep, with the secretariat's reason; the reminders for the old deadline stop."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from email import message_from_bytes
from email.policy import default

import pytest

from config import clock
from models import lifecycle, schedule
from models.db import read_session, session_scope
from models.enums import ReminderStatus
from notifications.reminders.preview import next_due
from notifications.reminders.sweep import sweep
from tests.conftest import ACTOR, NEASPEC, seoul
from tests.notifications.conftest import FOCAL, change, rows, sweep_at
from tests.notifications.smtp_server import Server
from tests.notifications.test_flows_cli import cli, to_march
from tests.notifications.test_render import check_golden, rendered_for, row_for
from tests.notifications.test_sweep import StartServer


async def replay(since: datetime, until: datetime) -> None:
    """Sweep at each instant a row falls due from `since`, as the service would, never going back in time (a row
    planned for a moment already past goes at the next sweep, as in the service)."""
    while True:
        with read_session() as session:
            due = next_due(session, until, clock.real_now())
        if due is None:
            return
        since = max(since, due)
        with clock.frozen(since):
            await sweep()


def mails(server: Server) -> list[tuple[str, str, str]]:
    """(recipient, subject, text) of each delivery, in order."""
    found: list[tuple[str, str, str]] = []
    for d in server.deliveries:
        message = message_from_bytes(d.content, policy=default)
        body = message.get_body(("plain",))
        assert body is not None
        found.extend((to, str(message["Subject"]), body.get_content()) for to in d.rcpt_tos)
    return found


async def test_an_extension_on_3_april_tells_each_silent_focal_point_once(march: str, smtp: StartServer) -> None:
    server = smtp()
    await replay(seoul("2025-03-03 10:00"), seoul("2025-04-03 10:00"))
    before = len(server.deliveries)
    assert any(subject.startswith("Response 3 days overdue") for _, subject, _ in mails(server))
    change(
        seoul("2025-04-03 10:00"),
        lambda s, now: schedule.apply_reschedule(
            s,
            NEASPEC,
            "outline-feedback",
            actor=ACTOR,
            now=now,
            reason="NFPs asked for two more weeks",
            end=date(2025, 4, 15),
        ),
    )
    await replay(seoul("2025-04-03 10:00"), seoul("2025-04-03 10:00"))
    told = mails(server)[before:]
    assert sorted(to for to, _, _ in told) == FOCAL  # each silent focal point, once, and nothing else
    subject, text = told[0][1], told[0][2]
    assert subject == (
        "Deadline extended to Tuesday 15 April: preliminary feedback on the annotated outline (NEASPEC SP 2026-2030)"
    )
    assert "extended to Tuesday 15 April 2025; it was 31 March 2025" in text
    assert "The secretariat's reason: NFPs asked for two more weeks" in text
    moscow = next(t for to, _, t in told if to == "anna.volkova@example.org")
    assert "by 17:59 on Tuesday 15 April 2025, Moscow time (UTC+3), your time" in moscow  # in the recipient's time
    await replay(seoul("2025-04-03 10:00"), seoul("2025-04-15 23:59"))
    after = mails(server)[before + len(told) :]
    assert after and not any("31 March" in subject for _, subject, _ in after)  # the old deadline is not heard of
    assert all("Tuesday 15 April" in subject for _, subject, _ in after)
    assert len(rows(rule="change_notice", status=ReminderStatus.SENT)) == 6
    with clock.frozen(seoul("2025-04-16 10:00")):
        assert (await sweep()).sent == 0  # a second sweep sends nothing new


def start_notices_sent() -> None:
    with session_scope() as session:  # the start notices went out on 3 March
        for row in rows(rule="stage_started"):
            sent = session.get(type(row), row.id)
            assert sent is not None
            sent.status, sent.sent_at = ReminderStatus.SENT, row.send_at


def test_golden_change_notice(march: str) -> None:
    start_notices_sent()
    change(
        seoul("2025-03-20 09:00"),
        lambda s, now: schedule.apply_reschedule(
            s,
            NEASPEC,
            "outline-feedback",
            actor=ACTOR,
            now=now,
            reason="the outline goes to the SOM bureau on 1 April",
            due=date(2025, 3, 28),
        ),
    )
    notice = row_for("anna.volkova@example.org", "change_notice")
    assert notice.send_at == seoul("2025-03-20 09:00")
    rendered = rendered_for(notice, seoul("2025-03-20 09:00"))
    assert rendered.subject.startswith("Deadline brought forward to Friday 28 March: ")
    check_golden("change_notice", rendered)


def test_a_skip_tells_those_who_were_still_being_reminded(march: str) -> None:
    start_notices_sent()
    change(
        seoul("2025-03-05 09:00"),
        lambda s, at: lifecycle.skip_stage(s, NEASPEC, "outline-feedback", actor=ACTOR, now=at, reason="merged"),
    )
    notices = rows(rule="change_notice")
    assert len(notices) == 6 and {(r.details["kind"], r.details["reason"]) for r in notices} == {("skipped", "merged")}
    change(seoul("2025-03-05 10:00"), lambda s, at: None)  # a re-plan later: nobody is told twice
    assert len(rows(rule="change_notice")) == 6


@pytest.mark.usefixtures("prefect_server")
def test_a_reschedule_through_the_cli_previews_then_sends_the_notices(neaspec: str, smtp: StartServer) -> None:
    server = smtp()
    to_march()
    asyncio.run(sweep_at("2025-03-03 10:00"))  # the start notices
    started = len(server.deliveries)
    args = ("stage", "reschedule", "outline-feedback", "--end", "2025-04-15", "--actor", ACTOR)
    with clock.frozen(seoul("2025-03-20 09:00")):
        code, out, _ = cli(*args)
        assert code == 0 and "6 focal points will be told the deadline moved to 15 April 2025" in out
        assert "reminders move 15 days later" in out
        assert "the plan period starts (1 January 2026)" in out  # SOM-28 would adopt the plan too late
        code, out, _ = cli(*args, "--apply", "--reason", "NFPs asked for two more weeks")
        assert code == 0, out
    assert asyncio.run(sweep_at("2025-03-20 09:00")).sent == 6  # type: ignore[attr-defined]
    told = mails(server)[started:]
    assert sorted(to for to, _, _ in told) == FOCAL
    assert all("The secretariat's reason: NFPs asked for two more weeks" in text for _, _, text in told)
    assert asyncio.run(sweep_at("2025-03-20 09:05")).sent == 0  # type: ignore[attr-defined]


async def test_a_notice_makes_the_same_days_reminder_for_the_same_deadline_redundant(
    march: str, smtp: StartServer
) -> None:
    server = smtp()
    start_notices_sent()
    change(
        seoul("2025-03-20 08:00"),
        lambda s, now: schedule.apply_reschedule(
            s, NEASPEC, "outline-feedback", actor=ACTOR, now=now, reason="Qingming", end=date(2025, 4, 3)
        ),
    )
    # "14 days left" for 3 April falls on 20 March, the notice's day: it is not planned (or, moved to a day
    # already past, gives way to the notice at the sweep). One e-mail each on 20 March: the notice.
    await replay(seoul("2025-03-20 08:00"), seoul("2025-03-20 23:59"))
    assert sorted(to for to, _, _ in mails(server)) == FOCAL
    assert all(subject.startswith("Deadline extended to Thursday 3 April: ") for _, subject, _ in mails(server))
    assert len(rows(rule="before", occurrence=7, status=ReminderStatus.PENDING)) == 6  # the later ones stay


@pytest.mark.usefixtures("prefect_server")
def test_an_undone_advance_tells_who_heard_the_start_that_it_was_in_error(neaspec: str, smtp: StartServer) -> None:
    server = smtp()
    to_march()  # annotated-outline advanced on 3 March 10:00, which started outline-feedback
    asyncio.run(sweep_at("2025-03-03 10:00"))  # its start notices, to the six focal points
    started = len(server.deliveries)
    with clock.frozen(seoul("2025-03-03 11:00")):
        code, out, _ = cli("stage", "undo-advance", "annotated-outline", "--reason", "Too early", "--actor", ACTOR)
    assert code == 0, out
    asyncio.run(sweep_at("2025-03-03 11:00"))
    told = [mail for mail in mails(server)[started:] if mail[0] in FOCAL]  # (the annotated outline is overdue again)
    assert sorted(to for to, _, _ in told) == FOCAL
    assert all(subject.startswith("Sent in error, the stage has not begun: ") for _, subject, _ in told)
    assert all("The secretariat's reason: Too early" in text for _, _, text in told)
    undone = len(mails(server))
    asyncio.run(sweep_at("2025-03-17 11:00"))
    assert not [to for to, _, _ in mails(server)[undone:] if to in FOCAL]  # no feedback reminder follows


@pytest.mark.usefixtures("prefect_server")
def test_a_reschedule_through_the_api_sends_the_notices_once(neaspec: str, smtp: StartServer) -> None:
    from fastapi.testclient import TestClient

    from consultrack.web.app import create_app
    from models.accounts import create_account
    from models.enums import AccountRole
    from models.token_rules import issue_api_token

    server = smtp()
    to_march()
    asyncio.run(sweep_at("2025-03-03 10:00"))  # the start notices
    started = len(server.deliveries)
    with clock.frozen(seoul("2025-03-20 09:00")):
        with session_scope() as session:
            create_account(
                session, ACTOR, "correct horse battery staple", AccountRole.ADMIN, actor="t", now=clock.now()
            )
            token = issue_api_token(session, ACTOR, label="test", actor="t", now=clock.now()).secret
        with TestClient(create_app()) as api:
            answer = api.post(
                f"/api/processes/{NEASPEC}/stages/outline-feedback/reschedule",
                json={"end": "2025-04-15", "confirm": True, "reason": "NFPs asked for two more weeks"},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert answer.status_code == 200, answer.text
    assert asyncio.run(sweep_at("2025-03-20 09:00")).sent == 6  # type: ignore[attr-defined]
    told = mails(server)[started:]
    assert sorted(to for to, _, _ in told) == FOCAL
    assert all(subject.startswith("Deadline extended to Tuesday 15 April: ") for _, subject, _ in told)
    assert all("The secretariat's reason: NFPs asked for two more weeks" in text for _, _, text in told)
    assert asyncio.run(sweep_at("2025-03-20 09:05")).sent == 0  # type: ignore[attr-defined]
