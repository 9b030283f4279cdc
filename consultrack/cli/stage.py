"""Changing a process: stages and responses (meetings: consultrack/cli/meeting.py). Each command runs one flow."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from consultrack.cli.common import (
    ActorOpt,
    ProcessOpt,
    actor_name,
    console,
    fail,
    parse_date,
    process_key_of,
    run_change,
)

stage_app = typer.Typer(no_args_is_help=True, help="Start, advance, skip and reschedule stages.")
response_app = typer.Typer(no_args_is_help=True, help="Member-State responses.")

OverrideOpt = Annotated[str | None, typer.Option("--override", help="Go ahead anyway; the reason is audited.")]


@stage_app.command("start")
def start(stage: str, process: ProcessOpt = None, override: OverrideOpt = None, actor: ActorOpt = None) -> None:
    """Start a planned stage (refused while its predecessors are open, unless overridden)."""
    from flows.operations import START

    result = run_change(
        START, process_key=process_key_of(process), stage_key=stage, actor=actor_name(actor), override_reason=override
    )
    console.print(f"{result['stage']} is now {result['state']}")


@stage_app.command("advance")
def advance(
    stage: str,
    process: ProcessOpt = None,
    approver: Annotated[str | None, typer.Option(help="manual gate: e-mail of the approving secretariat")] = None,
    note: Annotated[str | None, typer.Option(help="manual gate: the approval note")] = None,
    decision: Annotated[str | None, typer.Option(help="decision gate: the decision text")] = None,
    decision_date: Annotated[str | None, typer.Option(help="decision gate: YYYY-MM-DD")] = None,
    proceed: Annotated[str | None, typer.Option(help="responses gate, after the deadline: why go on")] = None,
    override: OverrideOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Complete an active stage whose gate is met, and start the stages it unblocks."""
    from flows.operations import ADVANCE

    result = run_change(
        ADVANCE,
        process_key=process_key_of(process),
        stage_key=stage,
        actor=actor_name(actor),
        approver=approver,
        note=note,
        decision_text=decision,
        decision_date=parse_date(decision_date, "--decision-date"),
        proceed_reason=proceed,
        override_reason=override,
    )
    how = " (gate overridden)" if result["overridden"] else ""
    console.print(f"{result['stage']} completed{how}")
    for key in result["started"]:
        console.print(f"{key} started")


@stage_app.command("skip")
def skip(
    stage: str,
    reason: Annotated[str, typer.Option(help="Why the stage is skipped.")],
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Skip a planned or active stage."""
    from flows.operations import SKIP

    result = run_change(
        SKIP, process_key=process_key_of(process), stage_key=stage, actor=actor_name(actor), reason=reason
    )
    console.print(f"{result['stage']} is now {result['state']}")


@stage_app.command("reschedule")
def reschedule(
    stage: str,
    start: Annotated[str | None, typer.Option(help="New first day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="New last day, YYYY-MM-DD")] = None,
    due: Annotated[str | None, typer.Option(help="New deadline, YYYY-MM-DD (default: follows the end)")] = None,
    confirm: Annotated[bool, typer.Option(help="The dates are confirmed: no longer tentative.")] = False,
    move_meeting: Annotated[
        list[str] | None,
        typer.Option("--move-meeting", help="Move this agreed meeting with its stage (repeat for several)."),
    ] = None,
    keep_meeting: Annotated[
        list[str] | None,
        typer.Option("--keep-meeting", help="Keep this agreed meeting on its date (what happens unless moved)."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (required to apply; the change notices quote it).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply; without it, only preview.")] = False,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Move a stage; the stages that depend on it follow (finish-to-start), agreed meetings stay unless moved.
    Previews unless --apply: the same preview as the dashboard's (who will be told, what moves, the detail)."""
    from config import clock
    from consultrack.reschedule_preview import reschedule_preview
    from models.errors import InvalidInput

    key = process_key_of(process, changes=apply)
    new_start, new_end, new_due = parse_date(start, "--start"), parse_date(end, "--end"), parse_date(due, "--due")
    moves, keeps = tuple(move_meeting or ()), tuple(keep_meeting or ())
    try:
        preview = reschedule_preview(
            key,
            stage,
            start=new_start,
            end=new_end,
            due=new_due,
            confirm=confirm,
            actor=actor_name(actor),
            now=clock.now(),
            move_meetings=moves,
            keep_meetings=keeps,
            reason=reason,
        )
    except InvalidInput as exc:  # dates the process cannot take: a usage error, as a malformed date is
        fail(exc.message, 2)
    plan = preview.plan
    if plan.empty:
        console.print(f"nothing changes: {stage} already has these dates")
        raise typer.Exit(1 if apply else 0)
    for warning in plan.warnings:
        console.print(f"[bold yellow]warning:[/] {escape(warning)}")
    for line in preview.summary:
        console.print(f"- {escape(line)}")
    table = Table("Stage", "Window now", "Window after", "Deadline after", "Why", title="Reschedule preview")
    for m in plan.stages:
        table.add_row(
            m.key,
            f"{m.old_start} .. {m.old_end}",
            f"{m.new_start} .. {m.new_end}",
            str(m.new_due),
            m.because + (" (confirmed)" if m.confirms else ""),
        )
    console.print(table)
    for mm in plan.meetings:
        console.print(f"meeting {mm.key}: {mm.old_day} -> {mm.new_day}")
    for agreed in plan.agreed:
        choice = (
            f"moves to {agreed.proposed}"
            if agreed.moves
            else f"stays (add --move-meeting {agreed.key} to move it to {agreed.proposed})"
        )
        console.print(
            f"agreed meeting {agreed.key} on {agreed.day}, outside {agreed.stage} "
            f"({agreed.window[0]} .. {agreed.window[1]}): {choice}"
        )
    if preview.notices:
        console.print(f"notices ({len(preview.notices)}), at the next sweep:")
        for n in preview.notices:
            console.print(f"  {escape(n.person)}: {n.stage}, deadline {n.to}")
    others = [c for c in preview.reminders if c not in preview.notices]
    if others:
        console.print(f"reminders that change ({len(others)}):")
        for c in others:
            was = f"{c.before:%Y-%m-%d %H:%M}" if c.before else "new"
            after = f"{c.after:%Y-%m-%d %H:%M}" if c.after else "cancelled"
            console.print(f"  {escape(c.person)}: {c.stage} {c.rule.replace('_', ' ')} {was} -> {after} UTC")
    for e in preview.events:
        console.print(
            f"calendar: {escape(e.title)}: {e.before} -> {e.after} (sequence {e.sequence[0]} -> {e.sequence[1]})"
        )
    if not apply:
        console.print("preview only: add --apply --reason '...' to make the change")
        return
    if not reason:
        fail("--reason is required with --apply", 2)
    from flows.operations import RESCHEDULE

    result = run_change(
        RESCHEDULE,
        process_key=key,
        stage_key=stage,
        actor=actor_name(actor),
        reason=reason,
        start=new_start,
        end=new_end,
        due=new_due,
        confirm=confirm,
        move_meetings=list(moves),
        keep_meetings=list(keeps),
    )
    console.print(f"rescheduled: {', '.join(result['moved'])}")


@response_app.command("record")
def response_record(
    stage: str,
    member_state: Annotated[str, typer.Argument(help="ISO code (JP) or name (Japan)")],
    received: Annotated[str | None, typer.Option(help="Date received, YYYY-MM-DD (default: today)")] = None,
    channel: Annotated[str, typer.Option(help="e-mail, letter, diplomatic note, meeting...")] = "e-mail",
    note: Annotated[str, typer.Option()] = "",
    link: Annotated[str | None, typer.Option(help="Where the response is filed (http/https)")] = None,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Record a member State's response to a stage."""
    from flows.operations import RECORD_RESPONSE

    key = process_key_of(process)
    day = parse_date(received, "--received")  # None: today where it is recorded (the service's clock, via the API)

    result = run_change(
        RECORD_RESPONSE,
        process_key=key,
        stage_key=stage,
        member_state=member_state,
        actor=actor_name(actor),
        received_on=day,
        channel=channel,
        note=note,
        link=link,
    )
    console.print(f"response from {result['member_state']} to {result['stage']} recorded ({result['received_on']})")


@response_app.command("correct")
def response_correct(
    stage: str,
    member_state: Annotated[str, typer.Argument(help="ISO code (JP) or name (Japan)")],
    reason: Annotated[str, typer.Option(help="Why the record is corrected (audited).")],
    received: Annotated[str | None, typer.Option(help="The right date received, YYYY-MM-DD")] = None,
    channel: Annotated[str | None, typer.Option(help="The right channel")] = None,
    note: Annotated[str | None, typer.Option(help="The right note")] = None,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Correct a recorded response's date, channel or note."""
    from flows.operations import CORRECT_RESPONSE

    day = parse_date(received, "--received")
    result = run_change(
        CORRECT_RESPONSE,
        process_key=process_key_of(process),
        stage_key=stage,
        member_state=member_state,
        actor=actor_name(actor),
        reason=reason,
        received_on=day,
        channel=channel,
        note=note,
    )
    console.print(
        f"response from {result['member_state']} to {result['stage']} corrected: received {result['received_on']} "
        f"by {result['channel']}"
    )


@response_app.command("withdraw")
def response_withdraw(
    stage: str,
    member_state: Annotated[str, typer.Argument(help="ISO code (JP) or name (Japan)")],
    reason: Annotated[str, typer.Option(help="Why the response is withdrawn (audited).")],
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Withdraw a recorded response (kept in the history): the State owes the stage again and is reminded."""
    from flows.operations import WITHDRAW_RESPONSE

    result = run_change(
        WITHDRAW_RESPONSE,
        process_key=process_key_of(process),
        stage_key=stage,
        member_state=member_state,
        actor=actor_name(actor),
        reason=reason,
    )
    console.print(f"response from {result['member_state']} to {result['stage']} withdrawn; its reminders resume")


@stage_app.command("undo-advance")
def undo_advance(
    stage: str,
    reason: Annotated[str, typer.Option(help="Why the advance is undone (audited).")],
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Undo today's advance of a stage (only by whoever made it, while the stages it started are untouched)."""
    from flows.operations import UNDO_ADVANCE

    result = run_change(
        UNDO_ADVANCE, process_key=process_key_of(process), stage_key=stage, actor=actor_name(actor), reason=reason
    )
    console.print(f"{result['stage']} is active again")
    for key in result["put_back"]:
        console.print(f"{key} is planned again")
