"""The sweep against a real SMTP server on loopback: each test asserts what was delivered, exactly once, and
what is recorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

from sqlmodel import select

from config import clock
from models.db import read_session, session_scope
from models.directory import MemberState, Person
from models.enums import ReminderStatus, Role
from notifications.reminders.planner import replan_key
from tests.conftest import NEASPEC, seoul
from tests.notifications.conftest import FOCAL, emails_of, respond, rows, stage_id, sweep_after_backoff, sweep_at
from tests.notifications.smtp_server import Faults, Server

StartServer = Callable[..., Server]
NOT_KR = [e for e in FOCAL if e != "park.jiwoo@example.org"]


def once_each(server: Server) -> list[str]:
    recipients = server.recorder.recipients()
    assert all(n == 1 for n in Counter(recipients).values()), Counter(recipients)
    ids = [d.message_id for d in server.deliveries]
    assert len(ids) == len(set(ids))
    return recipients


async def test_start_notices_go_out_once_with_message_id_and_attachment(march: str, smtp: StartServer) -> None:
    server = smtp()
    report = await sweep_at("2025-03-03 10:00")
    assert (report.sent, report.late, report.failed) == (6, 0, 0)
    assert once_each(server) == FOCAL
    sent = rows(status=ReminderStatus.SENT)
    assert {r.message_id for r in sent} == {d.message_id for d in server.deliveries}
    assert {r.sent_at for r in sent} == {seoul("2025-03-03 10:00")}
    message = message_from_bytes(server.deliveries[0].content, policy=default)
    assert message["Subject"].startswith("Response requested by Monday 31 March: ")
    assert [p.get_content_type() for p in message.walk()][-3:] == ["text/plain", "text/html", "text/calendar"]
    again = await sweep_at("2025-03-03 10:05")
    assert again.sent == 0 and len(server.deliveries) == 6


async def test_nothing_is_sent_before_its_time(march: str, smtp: StartServer) -> None:
    server = smtp()
    await sweep_at("2025-03-03 10:00")
    report = await sweep_at("2025-03-17 09:30")  # Seoul 09:30: Tokyo, Seoul, Pyongyang are due; not Moscow
    assert report.sent == 3 and report.late == 0
    assert sorted(r for d in server.deliveries[6:] for r in d.rcpt_tos) == [
        "park.jiwoo@example.org",
        "ri.song@example.org",
        "sato.yuki@example.org",
    ]


async def test_451_for_the_first_messages_then_each_delivered_once(march: str, smtp: StartServer) -> None:
    server = smtp(Faults(tempfail_first=2))
    tried = clock.real_now()
    first = await sweep_at("2025-03-03 10:00")
    assert (first.sent, first.retrying) == (4, 2)
    waiting = rows(status=ReminderStatus.PENDING, rule="stage_started")
    assert len(waiting) == 2 and all("451" in (r.last_error or "") for r in waiting)
    assert all(
        tried + timedelta(minutes=1) <= r.next_attempt_at <= clock.real_now() + timedelta(minutes=1)  # type: ignore[operator]
        for r in waiting
    )  # a minute of real time
    assert (await sweep_at("2025-03-03 10:00:30")).sent == 0  # backoff: not yet
    second = await sweep_after_backoff("2025-03-03 10:01")
    assert second.sent == 2
    assert once_each(server) == FOCAL
    assert sorted(r.attempts for r in rows(rule="stage_started", status=ReminderStatus.SENT)) == [1, 1, 1, 1, 2, 2]


async def test_550_marks_the_row_failed_and_the_others_go(march: str, smtp: StartServer) -> None:
    server = smtp(Faults(reject={"ri.song@example.org"}))
    report = await sweep_at("2025-03-03 10:00")
    assert (report.sent, report.failed) == (5, 1)
    assert once_each(server) == [e for e in FOCAL if e != "ri.song@example.org"]
    failed = rows(status=ReminderStatus.FAILED)
    assert emails_of(failed) == ["ri.song@example.org"] and "550" in (failed[0].last_error or "")
    assert (await sweep_at("2025-03-03 11:00")).sent == 0  # a permanent failure is not retried


async def test_connection_dropped_mid_batch(march: str, smtp: StartServer) -> None:
    server = smtp(Faults(drop_at={3}))
    report = await sweep_at("2025-03-03 10:00")
    assert (report.sent, report.retrying) == (5, 1)  # reconnected for the rest of the batch
    assert len(server.deliveries) == 5
    later = await sweep_after_backoff("2025-03-03 10:02")
    assert later.sent == 1
    assert once_each(server) == FOCAL
    dropped = [r for r in rows(status=ReminderStatus.SENT) if r.attempts == 2]
    assert len(dropped) == 1 and dropped[0].last_error is None  # the error is cleared once it went


async def test_wrong_credentials_keep_every_row_for_later(march: str, smtp: StartServer, monkeypatch: object) -> None:
    import pytest

    from config.settings import reset_settings

    mp = pytest.MonkeyPatch()
    server = smtp(login=("tracker", "right"))
    mp.setenv("CONSULTRACK_SMTP_USERNAME", "tracker")
    mp.setenv("CONSULTRACK_SMTP_PASSWORD", "wrong")
    reset_settings()
    try:
        report = await sweep_at("2025-03-03 10:00")
        assert report.sent == 0 and server.deliveries == []
        assert any("535" in e for e in report.errors)
        waiting = rows(rule="stage_started", stage_id=stage_id("outline-feedback"))
        assert {r.status for r in waiting} == {ReminderStatus.PENDING}
        assert {r.attempts for r in waiting} == {0}  # a refused login is not a try
        assert all("login refused" in (r.last_error or "") for r in waiting)
        shown = _status()  # the secretariat sees why nothing goes, not only the service's log
        assert "Reminders waiting for another try" in shown and "SMTP login refused: 535" in shown
        assert "CONSULTRACK_SMTP_PASSWORD" in shown and f"│ {len(waiting)} " in shown
        mp.setenv("CONSULTRACK_SMTP_PASSWORD", "right")
        reset_settings()
        assert (await sweep_after_backoff("2025-03-03 10:05")).sent == 6
        assert once_each(server) == FOCAL
        assert "waiting for another try" not in _status()
    finally:
        mp.undo()
        reset_settings()


def _status() -> str:
    from typer.testing import CliRunner

    from consultrack.cli import app, common

    common.console.width = 250
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_three_day_outage_sends_only_the_latest_reminder_marked_late(march: str, smtp: StartServer) -> None:
    server = smtp()
    for day in ("03", "17", "24"):  # the start notices, the 14-day and 7-day reminders, each on its day
        await sweep_at(f"2025-03-{day} 16:00")
    assert len(server.deliveries) == 18
    # Down from Friday 28 March (the 2-day reminders) to Tuesday 1 April, past the deadline of 31 March.
    report = await sweep_at("2025-04-01 10:00")
    assert (report.sent, report.late, report.skipped) == (6, 6, 6)
    latest = server.deliveries[18:]
    assert sorted(r for d in latest for r in d.rcpt_tos) == FOCAL
    for delivery in latest:  # the "due today" row goes out, telling the truth on the day it arrives
        subject = str(message_from_bytes(delivery.content, policy=default)["Subject"])
        assert subject.startswith("Response 1 day overdue (due Monday 31 March): "), subject
        assert "delayed" in delivery.content.decode()
    skipped = rows(status=ReminderStatus.SKIPPED)
    assert {(r.rule, r.occurrence) for r in skipped} == {("before", 2)}
    assert all(r.details["superseded_by"] for r in skipped)
    assert {(r.rule, r.occurrence, r.late) for r in rows(status=ReminderStatus.SENT) if r.send_at.day == 31} == {
        ("before", 0, True)
    }
    assert Counter(r for d in server.deliveries for r in d.rcpt_tos) == dict.fromkeys(FOCAL, 4)


async def test_an_extended_deadline_is_reminded_of_again_each_reminder_once(march: str, smtp: StartServer) -> None:
    """14 and 7 days before 31 March went out; on 26 March the deadline moves to 30 April: 14 and 7 days before
    30 April go out too, telling of the new deadline, and every message goes once."""
    from datetime import date

    from models import schedule
    from tests.notifications.conftest import change

    server = smtp()
    for day in ("03", "17", "24"):
        await sweep_at(f"2025-03-{day} 16:00")
    assert len(server.deliveries) == 18
    change(
        seoul("2025-03-26 09:00"),
        lambda s, at: schedule.apply_reschedule(
            s,
            NEASPEC,
            "outline-feedback",
            actor="test",
            now=at,
            reason="SOM bureau granted a month",
            end=date(2025, 4, 30),
            confirm=True,
        ),
    )
    for day in ("16", "23"):
        assert (await sweep_at(f"2025-04-{day} 16:00")).sent == 6
        assert (await sweep_at(f"2025-04-{day} 16:01")).sent == 0  # and not twice
    sato = [
        message_from_bytes(d.content, policy=default)
        for d in server.deliveries
        if d.rcpt_tos == ["sato.yuki@example.org"]
    ]
    said = [(str(m["Subject"]).split(": ", 1)[0], m.get_body(("plain",)).get_content()) for m in sato[1:]]  # type: ignore[union-attr]
    assert [subject for subject, _ in said] == [
        "Response due Monday 31 March",
        "Response due Monday 31 March",
        "Response due Wednesday 30 April",
        "Response due Wednesday 30 April",
    ], said
    assert [("in 14 days" in text, "in 7 days" in text) for _, text in said] == [(True, False), (False, True)] * 2
    ids = [message_from_bytes(d.content, policy=default)["Message-ID"] for d in server.deliveries]
    assert len(ids) == len(set(ids)) == 30


async def test_invalid_address_in_the_directory(march: str, smtp: StartServer) -> None:
    server = smtp()
    with session_scope() as session:  # a bad address that reached the database without the importer's check
        person = session.exec(select(Person).where(Person.email == "ri.song@example.org")).one()
        person.email = "ri.song@@example..org"
    report = await sweep_at("2025-03-03 10:00")
    assert (report.sent, report.failed) == (5, 1)
    assert once_each(server) == [e for e in FOCAL if e != "ri.song@example.org"]
    failed = rows(status=ReminderStatus.FAILED)
    assert len(failed) == 1 and "invalid e-mail address" in (failed[0].last_error or "")


async def test_recipient_without_a_time_zone(march: str, smtp: StartServer) -> None:
    server = smtp()
    with session_scope() as session:
        session.add(MemberState(code="XX", name="Testland", timezone="Asia/Seoul"))
        session.flush()
        person = session.exec(select(Person).where(Person.email == "sato.yuki@example.org")).one()
        person.timezone = None
        state = session.get(MemberState, "JP")
        assert state is not None
        state.timezone = ""  # the directory lost the member State's zone too
        replan_key(session, NEASPEC, seoul("2025-03-03 10:00"))
    fourteen = [r for r in rows(rule="before", occurrence=14) if emails_of([r]) == ["sato.yuki@example.org"]]
    assert fourteen[0].send_at == seoul("2025-03-17 09:00")  # the process's zone stands in
    await sweep_at("2025-03-17 09:00")
    mail = next(
        d
        for d in server.deliveries
        if d.rcpt_tos == ["sato.yuki@example.org"] and "in 14 days" in d.message.get_body(("plain",)).get_content()
    )
    body = message_from_bytes(mail.content, policy=default).get_body(("plain",)).get_content()
    assert "Deadline:    by 23:59 on Monday 31 March 2025, Seoul time (UTC+9)\r\n" in body
    assert "the directory has no time zone for you, so this is the secretariat's time" in body


async def test_template_with_an_unknown_variable_sends_nothing(
    march: str, smtp: StartServer, tmp_path: object, monkeypatch: object
) -> None:
    import pytest

    from config.settings import reset_settings

    custom = tmp_path / "templates"  # type: ignore[operator]
    custom.mkdir()
    (custom / "stage_started.html").write_text("<p>{{ recipient.name }} {{ typo_variable }}</p>")
    mp = pytest.MonkeyPatch()
    mp.setenv("CONSULTRACK_MAIL_TEMPLATES_DIR", str(custom))
    reset_settings()
    server = smtp()
    try:
        report = await sweep_at("2025-03-03 10:00")
    finally:
        mp.undo()
        reset_settings()
    assert report.sent == 0 and server.deliveries == []
    failed = rows(status=ReminderStatus.FAILED)
    assert len(failed) == 6 and all("typo_variable" in (r.last_error or "") for r in failed)


async def test_header_injection_through_a_name(march: str, smtp: StartServer) -> None:
    server = smtp()
    with session_scope() as session:
        person = session.exec(select(Person).where(Person.email == "li.wei@example.org")).one()
        person.name = "Li Wei\r\nBcc: thief@evil.example\r\nX-Evil: yes"
    await sweep_at("2025-03-03 10:00")
    once_each(server)
    assert "thief@evil.example" not in server.recorder.recipients()
    mail = next(d for d in server.deliveries if d.rcpt_tos == ["li.wei@example.org"])
    assert mail.message["X-Evil"] is None and mail.message["Bcc"] is None


async def test_escalation_copies_the_secretariat(march: str, smtp: StartServer) -> None:
    server = smtp()
    report = await sweep_at("2025-04-10 17:00")  # after a long silence: only the latest per recipient
    escalations = [d for d in server.deliveries if str(d.message["Subject"]).startswith("Please help: ")]
    assert len(escalations) == 6 and report.late == len(server.deliveries)
    orlov = next(d for d in escalations if "pavel.orlov@example.org" in d.rcpt_tos)
    assert sorted(orlov.rcpt_tos) == [
        "arjun.programme@example.org",
        "minji.secretariat@example.org",
        "pavel.orlov@example.org",
    ]
    assert "minji.secretariat@example.org" in str(orlov.message["Cc"])
    with read_session() as session:
        alternates = session.exec(select(Person.email).where(Person.role == Role.ALTERNATE_FOCAL_POINT)).all()
    assert sorted(alternates) == sorted(r for d in escalations for r in d.rcpt_tos if r in alternates)


async def test_digest_once_a_day(march: str, smtp: StartServer) -> None:
    from notifications.reminders.digest import schedule_digests
    from notifications.reminders.sweep import sweep

    server = smtp()
    for at in ("2025-03-27 08:00", "2025-03-27 08:01"):
        with clock.frozen(seoul(at)):
            with session_scope() as session:
                schedule_digests(session, clock.now())
            await sweep()
    digests = [d for d in server.deliveries if str(d.message["Subject"]).startswith("Digest for ")]
    assert sorted(r for d in digests for r in d.rcpt_tos) == [
        "arjun.programme@example.org",
        "minji.secretariat@example.org",
    ]
    assert len(rows(rule="digest")) == 2 and stage_id("som27-kickoff") == rows(rule="digest")[0].stage_id


async def test_late_flag_only_after_the_grace_period(march: str, smtp: StartServer) -> None:
    smtp()
    with clock.frozen(seoul("2025-03-03 10:00") + timedelta(minutes=59)):
        from notifications.reminders.sweep import sweep

        report = await sweep()
    assert report.sent == 6 and report.late == 0


ORLOV = "pavel.orlov@example.org"
SECRETARIAT = ["arjun.programme@example.org", "minji.secretariat@example.org"]


def escalation_to(email: str) -> object:
    return next(r for r in rows(rule="escalation") if emails_of([r]) == [email])


async def test_a_refused_main_recipient_fails_the_row_though_the_copy_went(march: str, smtp: StartServer) -> None:
    """The server refuses all recipients only when it accepts none: Orlov's 550 with the secretariat's copy
    accepted is still a failure of the reminder, not a sent one."""
    server = smtp(Faults(reject={ORLOV}))
    report = await sweep_at("2025-04-10 17:00")
    row = escalation_to(ORLOV)
    assert row.status is ReminderStatus.FAILED and row.sent_at is None  # type: ignore[attr-defined]
    assert f"{ORLOV}: 550 5.1.1" in row.last_error and "the copy to" in row.last_error  # type: ignore[attr-defined]
    assert row.details["refused"] == {ORLOV: "550 5.1.1 no such mailbox"}  # type: ignore[attr-defined]
    copies = [d for d in server.deliveries if ORLOV in str(d.message["To"])]
    assert len(copies) == 1 and sorted(copies[0].rcpt_tos) == SECRETARIAT  # the copy did go
    assert report.failed == 1 and report.sent == len(server.deliveries) - 1
    assert (await sweep_at("2025-04-10 18:00")).sent == 0  # a permanent failure is not retried
    assert escalation_to(ORLOV).status is ReminderStatus.FAILED  # type: ignore[attr-defined]


async def test_a_main_recipient_deferred_with_4xx_is_retried(march: str, smtp: StartServer) -> None:
    server = smtp(Faults(defer={ORLOV}))
    report = await sweep_at("2025-04-10 17:00")
    row = escalation_to(ORLOV)
    assert row.status is ReminderStatus.PENDING and report.retrying == 1  # type: ignore[attr-defined]
    assert "450 4.2.1" in row.last_error and row.next_attempt_at > clock.real_now()  # type: ignore[attr-defined]
    server.recorder.faults.defer.clear()
    assert (await sweep_after_backoff("2025-04-10 17:01")).sent == 1
    row = escalation_to(ORLOV)
    assert row.status is ReminderStatus.SENT and row.attempts == 2  # type: ignore[attr-defined]
    tries = [sorted(d.rcpt_tos) for d in server.deliveries if ORLOV in str(d.message["To"])]
    assert tries == [SECRETARIAT, [ORLOV]]  # the copies went with the first try, and only then
    assert row.details["delivered_to"] == SECRETARIAT  # type: ignore[attr-defined]


async def test_a_change_between_two_tries_keeps_what_the_first_learnt(march: str, smtp: StartServer) -> None:
    """A response recorded between a deferred try and the next re-plans the row: the copies that took the first
    try still do not get it again, and the backoff stands."""
    server = smtp(Faults(defer={ORLOV}))
    await sweep_at("2025-04-10 17:00")
    retry_at = escalation_to(ORLOV).next_attempt_at  # type: ignore[attr-defined]
    respond("JP", "2025-04-10")  # any change re-plans every pending row of the process
    row = escalation_to(ORLOV)
    assert row.details["delivered_to"] == SECRETARIAT and row.next_attempt_at == retry_at  # type: ignore[attr-defined]
    assert "450 4.2.1" in (row.last_error or "")  # type: ignore[attr-defined]
    server.recorder.faults.defer.clear()
    assert (await sweep_at("2025-04-10 17:00:30")).sent == 0  # not before its time
    assert (await sweep_after_backoff("2025-04-10 17:01")).sent == 1
    tries = [sorted(d.rcpt_tos) for d in server.deliveries if ORLOV in str(d.message["To"])]
    assert tries == [SECRETARIAT, [ORLOV]]


async def test_a_refused_copy_is_recorded_and_the_row_is_sent(march: str, smtp: StartServer) -> None:
    server = smtp(Faults(reject={"minji.secretariat@example.org"}))
    await sweep_at("2025-04-10 17:00")
    row = escalation_to(ORLOV)
    assert row.status is ReminderStatus.SENT  # type: ignore[attr-defined]
    assert row.details["refused"] == {"minji.secretariat@example.org": "550 5.1.1 no such mailbox"}  # type: ignore[attr-defined]
    assert any(sorted(d.rcpt_tos) == ["arjun.programme@example.org", ORLOV] for d in server.deliveries)
