"""The reminder flows and commands: state-changing flows re-derive reminders in their own transaction, the sweep
and digest run as flows, `remind preview|run` and `status --stage` show the rows, the sink keeps the mail."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config import clock
from config.settings import reset_settings
from consultrack.cli import app, common
from flows import reminders, stages
from flows.engine import run
from models import lifecycle
from models.db import session_scope
from models.enums import ReminderStatus
from models.errors import Conflict
from notifications.mail.sink import running_sink, store
from tests.conftest import ACTOR, seoul
from tests.helpers import record_held
from tests.notifications.conftest import FOCAL, emails_of, mailbox_files, rows, stage_id
from tests.notifications.smtp_server import Faults

pytestmark = pytest.mark.usefixtures("prefect_server")
P = "neaspec-sp-2026-2030"


def cli(*args: str) -> tuple[int, str, str]:
    common.console.width = 300
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def to_march() -> None:
    with clock.frozen(seoul("2024-12-13 10:00")):
        run(stages.start_stage, process_key=P, stage_key="som27-kickoff", actor=ACTOR)
    record_held(P, "som27-egm", seoul("2024-12-16 08:00"))
    with clock.frozen(seoul("2024-12-16 10:00")):
        run(stages.advance_stage, process_key=P, stage_key="som27-kickoff", actor=ACTOR)
    with session_scope() as session:  # the sweep's part: annotated-outline opens with its window
        lifecycle.open_ready_stages(session, P, now=seoul("2025-01-01 09:00"))
    with clock.frozen(seoul("2025-03-03 10:00")):
        run(
            stages.advance_stage, process_key=P, stage_key="annotated-outline", actor=ACTOR, approver=ACTOR, note="done"
        )


def test_flows_replan_in_their_transaction_and_a_refusal_changes_no_reminder(neaspec: str) -> None:
    to_march()
    pending = rows(status=ReminderStatus.PENDING, stage_id=stage_id("outline-feedback"))
    assert emails_of([r for r in pending if r.rule == "stage_started"]) == FOCAL
    with clock.frozen(seoul("2025-03-10 15:00")):
        run(
            stages.record_response,
            process_key=P,
            stage_key="outline-feedback",
            member_state="KR",
            actor=ACTOR,
            received_on=date(2025, 3, 10),
        )
        before = [(r.id, r.status, r.send_at) for r in rows()]
        with pytest.raises(Conflict):
            run(
                stages.record_response,
                process_key=P,
                stage_key="outline-feedback",
                member_state="KR",
                actor=ACTOR,
                received_on=date(2025, 3, 10),
            )
    assert [(r.id, r.status, r.send_at) for r in rows()] == before
    assert "park.jiwoo@example.org" not in emails_of(rows(status=ReminderStatus.PENDING))
    with clock.frozen(seoul("2025-03-11 09:00")):
        run(
            stages.reschedule_stage,
            process_key=P,
            stage_key="outline-feedback",
            actor=ACTOR,
            reason="more time",
            end=date(2025, 4, 7),
            confirm=True,
        )
    assert {r.due_date_seen for r in rows(status=ReminderStatus.PENDING)} == {date(2025, 4, 7)}


def test_remind_commands_and_status_history(neaspec: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    to_march()
    monkeypatch.setenv("CONSULTRACK_NOW", "2025-03-03T10:00:00+09:00")
    reset_settings()
    code, out, _ = cli("remind", "preview", "--days", "15")
    assert code == 0 and "Mon 17 Mar 2025 09:00 Europe/Moscow" in out
    assert "Response due Monday 31 March: preliminary feedback on the annotated outline" in out
    assert "Response requested by Monday 31 March" in out and "(due now)" in out
    code, out, _ = cli("remind", "run")  # the default transport: the local sink, nothing leaves the machine
    assert code == 0 and "sent 6 (late 0)" in out
    files = mailbox_files(data_dir)
    assert len(files) == 6
    assert (
        sorted(
            line.split(": ", 1)[1]
            for f in files
            for line in f.read_text().splitlines()
            if line.startswith("X-Envelope-To")
        )
        == FOCAL
    )
    assert cli("remind", "run")[1].startswith("sent 0")
    code, out, _ = cli("status", "--stage", "outline-feedback")
    assert code == 0 and "Reminders of outline-feedback" in out
    assert out.count("stage_started") == 6 and "before 14" in out and "sent" in out
    with session_scope() as session:
        from models.reminder import Reminder

        row = session.get(Reminder, rows(rule="before", occurrence=14, stage_id=stage_id("outline-feedback"))[0].id)
        assert row is not None
        row.status, row.last_error = ReminderStatus.FAILED, "550 5.1.1 no such mailbox"
    code, out, _ = cli("status")
    assert "Reminders that failed" in out and "550 5.1.1 no such mailbox" in out


def test_digest_flow_sends_once_a_day(neaspec: str, smtp: object) -> None:
    server = smtp(Faults())  # type: ignore[operator]
    to_march()
    with clock.frozen(seoul("2025-03-27 08:00")):
        first = run(reminders.send_digest)
    with clock.frozen(seoul("2025-03-27 18:00")):
        second = run(reminders.send_digest)
    assert first["digests"] == 2 and second["digests"] == 0
    digests = [d for d in server.deliveries if str(d.message["Subject"]).startswith("Digest for ")]
    assert len(digests) == 2


def test_replan_flow_is_idempotent(neaspec: str) -> None:
    to_march()
    with clock.frozen(seoul("2025-03-05 09:00")):
        assert run(reminders.replan_reminders) == {"added": 0, "moved": 0, "cancelled": 0}


def test_sink_keeps_one_copy_per_message_id(tmp_path: Path) -> None:
    content = b"Message-ID: <ct.1.abc@example.org>\r\nSubject: x\r\n\r\nbody\r\n"
    assert store(tmp_path, content, "a@example.org", ["b@example.org"])
    assert not store(tmp_path, content, "a@example.org", ["b@example.org"])  # a retry after a crash
    assert [p.name for p in tmp_path.glob("*.eml")] == ["ct.1.abc@example.org.eml"]
    with running_sink(tmp_path) as outer, running_sink(tmp_path) as inner:
        assert outer == inner  # one server per mailbox, shared
