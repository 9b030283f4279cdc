"""`consultrack remind`: what reminders will go out (preview) and sending what is due now (run)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from consultrack.cli.common import console, require_database

remind_app = typer.Typer(no_args_is_help=True, help="Reminder e-mails: preview, send what is due, digest.")


@remind_app.command("preview")
def preview(days: Annotated[int, typer.Option("--days", min=0, help="How many days ahead.")] = 7) -> None:
    """Who gets what, when, in their local time (reading only; nothing is sent)."""
    require_database()
    from config import clock
    from models.db import read_session
    from notifications.reminders.preview import upcoming

    now = clock.now()
    with read_session() as session:
        lines = upcoming(session, now, days)
    table = Table(
        "When (recipient's time)",
        "Recipient",
        "Stage",
        "Rule",
        "Subject",
        title=f"Reminders due in the next {days} day(s)",
    )
    for line in lines:
        when = line.local_time + (" [bold red](due now)[/]" if line.row.send_at <= now else "")
        table.add_row(
            when,
            escape(f"{line.person.name} <{line.person.email}>"),
            line.stage.key,
            _rule(line.row),
            escape(line.subject),
        )
    console.print(table)
    console.print(f"{len(lines)} reminder(s)")


@remind_app.command("run")
def run_now() -> None:
    """Send every reminder that is due now (the service does this every minute)."""
    require_database()
    if not _could_be_due():
        _say({"sent": 0, "late": 0, "skipped": 0, "failed": 0, "retrying": 0, "cancelled": 0, "errors": []})
        return
    from flows import reminders
    from flows.engine import run

    report = run(reminders.sweep_reminders)
    _say(report)


def _could_be_due() -> bool:
    """Whether a sweep could find anything to do: a pending row due by the business clock (waiting out a retry's
    backoff or not), any row claimed for sending, or a ready stage whose window has opened. Read before Prefect
    starts, so a cron job's `remind run` with nothing due costs an import of SQLModel, not a flow run; when in
    doubt, the sweep runs."""
    from sqlmodel import and_, col, or_, select

    from config import clock
    from models.db import read_session
    from models.enums import ReminderStatus
    from models.lifecycle import next_opening
    from models.reminder import Reminder

    pending = and_(Reminder.status == ReminderStatus.PENDING, col(Reminder.send_at) <= clock.now())
    with read_session() as session:
        return (
            session.exec(
                select(Reminder.id).where(or_(pending, Reminder.status == ReminderStatus.SENDING)).limit(1)
            ).first()
            is not None
            or next_opening(session, clock.now()) is not None  # a ready stage's window has opened
        )


@remind_app.command("digest")
def digest() -> None:
    """Send today's digest to the secretariat now (once a day, however often it is asked)."""
    require_database()
    from flows import reminders
    from flows.engine import run

    report = run(reminders.send_digest)
    _say(report)


def _say(report: dict[str, object]) -> None:
    console.print(
        f"sent {report['sent']} (late {report['late']}), skipped {report['skipped']} as superseded, "
        f"failed {report['failed']}, to retry {report['retrying']}, cancelled {report['cancelled']}"
    )
    for error in report["errors"]:  # type: ignore[attr-defined]
        console.print(f"[yellow]{escape(str(error))}[/]")


def render_reminders(process_key: str | None, stage_key: str | None) -> None:
    """For `status`: the reminders that failed and those waiting for another try (always), and the history of one
    stage's reminders."""
    from models.db import read_session
    from models.queries import get_stage, only_process
    from notifications.reminders.preview import failed, retrying, stage_history

    with read_session() as session:
        process = only_process(session, process_key)
        failures = failed(session, process)
        waiting = retrying(session, process)
        history = stage_history(session, get_stage(session, process, stage_key)) if stage_key else None
    if waiting:
        table = Table(
            "Why", "Reminders", "Next try (UTC)", title="Reminders waiting for another try", title_style="bold yellow"
        )
        for group in waiting:
            why = group.error + (f" ({group.hint})" if group.hint else "")
            table.add_row(escape(why), str(group.rows), f"{group.next_try:%Y-%m-%d %H:%M}")
        console.print(table)
    if failures:
        table = Table(
            "Planned for", "Recipient", "Stage", "Rule", "Error", title="Reminders that failed", title_style="bold red"
        )
        for line in failures:
            table.add_row(
                line.local_time,
                escape(line.person.email),
                line.stage.key,
                _rule(line.row),
                escape(line.row.last_error or ""),
            )
        console.print(table)
    if history is not None:
        table = Table(
            "Planned for (recipient's time)",
            "Recipient",
            "Rule",
            "Status",
            "Sent (UTC)",
            "Message-ID",
            title=f"Reminders of {stage_key}",
        )
        for line in history:
            row = line.row
            state = row.status.value + (" (late)" if row.late else "")
            note = row.last_error or str(row.details.get("why", ""))
            table.add_row(
                line.local_time,
                escape(line.person.email),
                _rule(row),
                escape(state + (f": {note}" if note else "")),
                f"{row.sent_at:%Y-%m-%d %H:%M}" if row.sent_at else "",
                escape(row.message_id or ""),
            )
        console.print(table)


def _rule(row: object) -> str:
    from models.enums import MEETING_RULES, ReminderRule
    from models.reminder import Reminder

    assert isinstance(row, Reminder)
    if row.rule in MEETING_RULES:
        return f"{row.rule.value} {row.details.get('meeting', '')}".strip()
    if row.rule is ReminderRule.NOTICE:  # "change_notice moved", not its serial number
        return f"{row.rule.value} {row.details.get('kind', '')}".strip()
    once = row.rule in (ReminderRule.START, ReminderRule.DIGEST)
    return row.rule.value if once else f"{row.rule.value} {row.occurrence}"
