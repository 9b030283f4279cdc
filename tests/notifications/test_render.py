"""Rendered e-mails, pinned by golden files (UPDATE_GOLDEN=1 rewrites them after a deliberate change), and the
properties no golden file can show: autoescaping, loud failure on unknown variables, no header injection, and
an .ics that independent parsers read the same way."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
import vobject
from sqlmodel import select

from calendars import events
from calendars.subscribe import subscribe_links, subscribe_page_url
from config.settings import reset_settings
from models.db import read_session, session_scope
from models.directory import Person
from models.enums import ReminderStatus
from models.process import Process, Stage
from models.reminder import Reminder
from notifications.mail.ics import deadline_ics
from notifications.mail.message import InvalidAddress, build_message
from notifications.mail.render import Rendered, RenderError, render
from notifications.reminders.context import load_world, reminder_context
from notifications.reminders.digest import digest_context, schedule_digests
from tests.conftest import seoul
from tests.notifications.conftest import rows

GOLDEN = Path(__file__).parent / "golden"


def row_for(email: str, rule: str, occurrence: int | None = None) -> Reminder:
    with read_session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
    found = [r for r in rows(person_id=person.id, rule=rule) if occurrence is None or r.occurrence == occurrence]
    assert found, (email, rule, occurrence)
    return found[-1]


def rendered_for(row: Reminder, now: datetime, *, late: bool = False) -> Rendered:
    with read_session() as session:
        world = load_world(session, [row])
        name, ctx = reminder_context(session, world, row, now, late=late)
        return render(name, ctx)


def check_golden(name: str, rendered: Rendered) -> None:
    text = f"Subject: {rendered.subject}\n\n{rendered.text}\n----- html -----\n{rendered.html}"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path}"


def test_golden_stage_started(march: str) -> None:
    rendered = rendered_for(row_for("li.wei@example.org", "stage_started"), seoul("2025-03-03 10:00"))
    check_golden("stage_started", rendered)


def test_golden_reminder_seven_days_in_moscow(march: str) -> None:
    rendered = rendered_for(row_for("anna.volkova@example.org", "before", 7), seoul("2025-03-24 15:00"))
    assert rendered.subject == (
        "Response due Monday 31 March: preliminary feedback on the annotated outline (NEASPEC SP 2026-2030)"
    )
    # The reader's own time first, then the secretariat's; a deadline closes at 23:59, not "24:00".
    assert "by 17:59 on Monday 31 March 2025, Moscow time (UTC+3), your time" in rendered.text
    assert "that is by 23:59 on Monday 31 March 2025, Seoul time (UTC+9)" in rendered.text
    assert '<html lang="en">' in rendered.html and f"<title>{rendered.subject}</title>" in rendered.html
    check_golden("reminder_before_7", rendered)


def test_golden_reminder_overdue_and_late(march: str) -> None:
    rendered = rendered_for(row_for("ri.song@example.org", "overdue", 2), seoul("2025-04-03 09:00"), late=True)
    assert rendered.subject.startswith("Response 3 days overdue (due Monday 31 March): ")
    check_golden("reminder_overdue_late", rendered)


def test_golden_escalation(march: str) -> None:
    rendered = rendered_for(row_for("pavel.orlov@example.org", "escalation", 3), seoul("2025-04-09 08:00"))
    assert "by 00:59 on Tuesday 1 April 2025, Vladivostok time (UTC+10), your time" in rendered.text
    check_golden("escalation", rendered)


@pytest.mark.parametrize(
    ("sent", "words"), [(1, "was reminded once"), (2, "was reminded twice"), (3, "was reminded 3 times")]
)
def test_escalation_counts_the_reminders_the_focal_point_had(march: str, sent: int, words: str) -> None:
    anna = row_for("anna.volkova@example.org", "before")
    with session_scope() as session:
        for row in session.exec(
            select(Reminder)
            .where(Reminder.person_id == anna.person_id, Reminder.stage_id == anna.stage_id, Reminder.rule == "before")
            .order_by(Reminder.send_at)
            .limit(sent)
        ).all():
            row.status = ReminderStatus.SENT
    text = rendered_for(row_for("pavel.orlov@example.org", "escalation", 3), seoul("2025-04-09 08:00")).text
    assert f"Anna Volkova {words}." in " ".join(text.split())


def test_golden_digest(march: str) -> None:
    from tests.notifications.conftest import respond

    respond("KR", "2025-03-10 15:00")
    with session_scope() as session:
        schedule_digests(session, seoul("2025-03-27 08:00"))
    digest = row_for("minji.secretariat@example.org", "digest")
    with session_scope() as session:  # one failed reminder to report
        failed = session.get(Reminder, row_for("sato.yuki@example.org", "before", 7).id)
        assert failed is not None
        failed.status, failed.last_error = "failed", "550 5.1.1 no such mailbox"  # type: ignore[assignment]
        failed.claimed_at = seoul("2025-03-24 09:00")
    with read_session() as session:
        world = load_world(session, [digest])
        rendered = render("digest", digest_context(session, world, digest, seoul("2025-03-27 08:00")))
    assert (
        "still owed by China, Democratic People's Republic of Korea, Japan, Mongolia, Russian Federation"
        in rendered.text
    )  # Korea responded
    assert (
        "Sato Yuki <sato.yuki@example.org>, Preliminary feedback on the annotated outline (before): 550"
        in rendered.text
    )
    check_golden("digest", rendered)


def test_golden_feed_subscribe() -> None:
    links = subscribe_links("A" * 32, "NEASPEC SP 2026-2030: Russian Federation (Anna Volkova)")
    rendered = render(
        "feed_subscribe",
        {"recipient": {"name": "Anna Volkova"}, "links": links, "subscribe_url": subscribe_page_url("A" * 32)},
    )
    check_golden("feed_subscribe", rendered)


def test_html_is_autoescaped(march: str) -> None:
    with session_scope() as session:
        stage = session.exec(select(Stage).where(Stage.key == "outline-feedback")).one()
        stage.name = "Feedback <script>alert(1)</script> & more"
    rendered = rendered_for(row_for("li.wei@example.org", "before", 7), seoul("2025-03-24 10:00"))
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in rendered.html
    assert "<script>" in rendered.text  # plain text is not HTML: nothing to escape there


def test_unknown_variable_fails_loudly(march: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "reminder.txt").write_text("Dear {{ recipient.name }}, see {{ no_such_thing }}.\n")
    monkeypatch.setenv("CONSULTRACK_MAIL_TEMPLATES_DIR", str(custom))
    reset_settings()
    with pytest.raises(RenderError, match="no_such_thing"):
        rendered_for(row_for("li.wei@example.org", "before", 7), seoul("2025-03-24 10:00"))


def test_an_override_directory_rewords_the_subject(march: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The subject is a template like the rest: an override directory changes it, line breaks and all made one
    line, and the parts it does not override stay the shipped ones."""
    row, now = row_for("anna.volkova@example.org", "before", 7), seoul("2025-03-24 15:00")
    shipped = rendered_for(row, now)
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "reminder.subject.txt").write_text("[{{ process.short_name }}]\n{{ days_text }} left\n")
    monkeypatch.setenv("CONSULTRACK_MAIL_TEMPLATES_DIR", str(custom))
    reset_settings()
    try:
        reworded = rendered_for(row, now)
    finally:
        monkeypatch.undo()
        reset_settings()
    assert reworded.subject == "[NEASPEC SP 2026-2030] 7 days left"
    assert reworded.text == shipped.text
    assert reworded.html == shipped.html.replace(shipped.subject, reworded.subject)  # the HTML's title follows


def _message(name: str, subject: str, email: str = "li.wei@example.org") -> bytes:
    rendered = Rendered(subject, "text", "<p>html</p>")
    envelope = build_message(
        sender="NEASPEC <neaspec@example.org>",
        to=(name, email),
        cc=[],
        reply_to=None,
        rendered=rendered,
        message_id="<x@example.org>",
        date=seoul("2025-03-24 10:00"),
        ics=None,
    )
    assert envelope.recipients == [email]
    return envelope.data


def test_no_header_injection_through_name_or_subject() -> None:
    raw = _message("Li Wei\r\nBcc: thief@evil.example", "Due\r\nBcc: thief@evil.example\nX-Evil: 1")
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "thief@evil.example" not in str(parsed["To"]).split("<")[-1]
    assert parsed["To"].addresses[0].addr_spec == "li.wei@example.org"
    assert "\n" not in str(parsed["Subject"])
    with pytest.raises(InvalidAddress):
        _message("Li", "s", email="li.wei@example.org\r\nBcc: thief@evil.example")
    with pytest.raises(InvalidAddress):
        _message("Li", "s", email="not an address")


def test_deadline_ics_reads_the_same_in_three_parsers(march: str) -> None:
    with read_session() as session:
        stage = session.exec(select(Stage).where(Stage.key == "outline-feedback")).one()
        process = session.get(Process, stage.process_id)
        assert process is not None
        data = deadline_ics(process, stage)
        in_feed = events.deadline(process, stage)
    deadline = seoul("2025-04-01 00:00")
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert event.decoded("dtend") == deadline and event.decoded("dtstart") == deadline - timedelta(hours=1)
    parsed = vobject.readOne(data.decode())
    assert parsed.vevent.dtend.value == deadline
    assert "outline" in parsed.vevent.summary.value
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(data)).between(
        seoul("2025-03-31 00:00"), seoul("2025-04-02 00:00")
    )
    # The feed's deadline event: one entry in a client that has both, moved by either.
    assert len(found) == 1 and found[0]["UID"] == in_feed["UID"]
    assert in_feed["UID"] == "neaspec-sp-2026-2030.deadline.outline-feedback@consultrack"
    assert event["SEQUENCE"] == in_feed["SEQUENCE"] == stage.version - 1
    assert parsed.vevent.sequence.value == str(stage.version - 1)


def test_non_ascii_names_and_subjects_are_encoded() -> None:
    parsed = message_from_bytes(_message("Ли Вэй 李伟", "Отзыв: 反馈 due"), policy=default)
    assert parsed["To"].addresses[0].display_name == "Ли Вэй 李伟"
    assert str(parsed["Subject"]) == "Отзыв: 反馈 due"
    assert all(byte < 128 for byte in _message("Ли Вэй", "Отзыв"))  # 7-bit on the wire
