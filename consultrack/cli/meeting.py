"""`consultrack meeting add|edit|move|cancel|held|list`: meetings as their own objects. Each change runs one flow
(flows/meetings.py); bad input (an unknown meeting, an end before the start, an unknown zone, a date outside every
stage, an online link that is not https, moving a cancelled meeting) is one message naming the field, exit code 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import time
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.table import Table

from consultrack.cli.common import (
    ActorOpt,
    ProcessOpt,
    actor_name,
    console,
    fail,
    parse_date,
    process_key_of,
    require_database,
    run_change,
)
from models.errors import InvalidInput, NotFound

meeting_app = typer.Typer(no_args_is_help=True, help="Meetings: add, edit, move, cancel, record held, list.")
P = ParamSpec("P")
R = TypeVar("R")

DateOpt = Annotated[str | None, typer.Option("--date", help="first day, YYYY-MM-DD")]
EndDateOpt = Annotated[str | None, typer.Option("--end-date", help="last day of a meeting of several days")]
StartOpt = Annotated[str | None, typer.Option("--start", help="start time, HH:MM in --zone (none: all day)")]
EndOpt = Annotated[str | None, typer.Option("--end", help="end time, HH:MM in --zone")]
ZoneOpt = Annotated[str | None, typer.Option("--zone", help="IANA time zone, e.g. Asia/Seoul")]
StageOpt = Annotated[str | None, typer.Option("--stage", help="the stage it belongs to (default: its window's)")]
TentativeOpt = Annotated[bool, typer.Option("--tentative", help="the date is still to be confirmed")]
TitleOpt = Annotated[str | None, typer.Option("--title")]
KindOpt = Annotated[str | None, typer.Option("--kind", help="nfp_meeting, som, expert_group or consultation")]
PlaceOpt = Annotated[str | None, typer.Option("--place", help="where it takes place")]
VirtualOpt = Annotated[bool | None, typer.Option("--virtual/--in-person", help="held online only")]
LinkOpt = Annotated[str | None, typer.Option("--online-link", help="https address to join (secret)")]
DialOpt = Annotated[str | None, typer.Option("--dial-in", help="telephone dial-in (secret)")]
AgendaOpt = Annotated[str | None, typer.Option("--agenda", help="address of the agenda")]
DocumentsOpt = Annotated[str | None, typer.Option("--documents", help="address of the documents")]
ParticipantsOpt = Annotated[
    str | None,
    typer.Option("--participants", help="comma-separated: member_states, secretariat, som, stakeholders"),
]


def bad_input_exits_2(command: Callable[P, R]) -> Callable[P, R]:
    """Bad input, whichever way it came back (the flow here, or a service's API), exits with code 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (InvalidInput, NotFound) as exc:
            fail(exc.message, 2)

    return wrapper


def _time(value: str | None, what: str) -> time | None:
    if value is None:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        fail(f"{what}: {value!r} is not a time (use HH:MM, e.g. 15:00)", 2)


def _participants(value: str | None) -> list[str] | None:
    return None if value is None else [p.strip() for p in value.split(",")]


def _said(result: dict[str, Any], verb: str) -> None:
    console.print(f"meeting {result['meeting']} {verb}: {result['title']}, {result['when']}")


@meeting_app.command("add")
@bad_input_exits_2
def add(
    meeting: str,
    title: TitleOpt = None,
    date_: DateOpt = None,
    end_date: EndDateOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    zone: ZoneOpt = None,
    stage: StageOpt = None,
    kind: KindOpt = None,
    place: PlaceOpt = None,
    virtual: VirtualOpt = None,
    online_link: LinkOpt = None,
    dial_in: DialOpt = None,
    agenda: AgendaOpt = None,
    documents: DocumentsOpt = None,
    participants: ParticipantsOpt = None,
    tentative: TentativeOpt = False,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Add a meeting (key: lower-case, e.g. som-28); it belongs to the stage whose window holds its date."""
    from flows.operations import ADD_MEETING

    result = run_change(
        ADD_MEETING,
        process_key=process_key_of(process),
        meeting_key=meeting,
        actor=actor_name(actor),
        date=parse_date(date_, "--date"),
        end_date=parse_date(end_date, "--end-date"),
        start=_time(start, "--start"),
        end=_time(end, "--end"),
        timezone=zone,
        title=title,
        kind=kind,
        location=place,
        virtual=virtual,
        online_link=online_link,
        dial_in=dial_in,
        agenda_link=agenda,
        documents_link=documents,
        attendees=_participants(participants),
        stage=stage,
        tentative=tentative,
    )
    _said(result, "added")


@meeting_app.command("edit")
@bad_input_exits_2
def edit(
    meeting: str,
    title: TitleOpt = None,
    kind: KindOpt = None,
    place: PlaceOpt = None,
    virtual: VirtualOpt = None,
    online_link: LinkOpt = None,
    dial_in: DialOpt = None,
    agenda: AgendaOpt = None,
    documents: DocumentsOpt = None,
    participants: ParticipantsOpt = None,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Change a meeting's details (not its date: `meeting move`). An empty value ("") clears a link."""
    from flows.operations import EDIT_MEETING

    result = run_change(
        EDIT_MEETING,
        process_key=process_key_of(process),
        meeting_key=meeting,
        actor=actor_name(actor),
        title=title,
        kind=kind,
        location=place,
        virtual=virtual,
        online_link=online_link,
        dial_in=dial_in,
        agenda_link=agenda,
        documents_link=documents,
        attendees=_participants(participants),
    )
    _said(result, "changed")


@meeting_app.command("move")
@bad_input_exits_2
def move(
    meeting: str,
    date_: DateOpt = None,
    end_date: EndDateOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    zone: ZoneOpt = None,
    all_day: Annotated[bool, typer.Option("--all-day", help="no start and end times")] = False,
    stage: StageOpt = None,
    tentative: TentativeOpt = False,
    reason: Annotated[str | None, typer.Option("--reason", help="why it moves (audited, told to the invited)")] = None,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Move a meeting: a new date (its times, length and zone stay unless given), or new times. Setting the date
    confirms a meeting "to be confirmed" unless --tentative."""
    from flows.operations import MOVE_MEETING
    from models.db import read_session
    from models.meetings import find_meeting, moved_when
    from models.queries import get_process

    process_key = process_key_of(process)
    with read_session() as session:
        found = find_meeting(session, get_process(session, process_key), meeting)
        when = moved_when(
            found,
            day=parse_date(date_, "--date"),
            end_day=parse_date(end_date, "--end-date"),
            start=_time(start, "--start"),
            end=_time(end, "--end"),
            timezone=zone,
            all_day=all_day,
        )
    result = run_change(
        MOVE_MEETING,
        process_key=process_key,
        meeting_key=meeting,
        actor=actor_name(actor),
        date=when.day,
        end_date=when.end_day,
        start=when.start_time,
        end=when.end_time,
        timezone=when.timezone,
        stage=stage,
        tentative=tentative,
        reason=reason,
    )
    _said(result, "moved")


def _attendance(items: list[str], where: str) -> dict[str, str]:
    states: dict[str, str] = {}
    for item in items:
        who, sep, what = item.partition("=")
        if not sep or not who.strip() or not what.strip():
            fail(f"{where}: {item!r} is not STATE=registered|attended|apologies (e.g. JP=attended)", 2)
        states[who.strip()] = what.strip()
    return states


@meeting_app.command("attendance")
@bad_input_exits_2
def meeting_attendance(
    meeting: str,
    attendance: Annotated[
        list[str], typer.Argument(help="STATE=registered|attended|apologies (or none to clear), e.g. JP=attended")
    ],
    reason: Annotated[str | None, typer.Option(help="Why a recorded value changes (required then; audited).")] = None,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Record who registered for, attended or sent apologies to a meeting, before or after it."""
    from flows.operations import MEETING_ATTENDANCE

    result = run_change(
        MEETING_ATTENDANCE,
        process_key=process_key_of(process),
        meeting_key=meeting,
        actor=actor_name(actor),
        attendance=_attendance(attendance, "attendance"),
        reason=reason,
    )
    console.print(f"attendance at {result['title']} recorded")


@meeting_app.command("held")
@bad_input_exits_2
def meeting_held(
    meeting: str,
    on: Annotated[
        str | None, typer.Option("--on", help="the day it was held (default: today, or its last day)")
    ] = None,
    attendance: Annotated[
        list[str] | None,
        typer.Option("--attendance", help="STATE=registered|attended|apologies, e.g. JP=attended; repeatable"),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="a note for the record")] = None,
    process: ProcessOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Record that a meeting took place (refused before it starts, and once cancelled)."""
    from flows.operations import MEETING_HELD

    states = _attendance(attendance or [], "--attendance")
    result = run_change(
        MEETING_HELD,
        process_key=process_key_of(process),
        meeting_key=meeting,
        actor=actor_name(actor),
        held_on=parse_date(on, "--on"),
        attendance=states or None,
        reason=note,
    )
    console.print(f"meeting {result['meeting']} is {result['status']}")


@meeting_app.command("cancel")
@bad_input_exits_2
def meeting_cancel(
    meeting: str, reason: Annotated[str, typer.Option()], process: ProcessOpt = None, actor: ActorOpt = None
) -> None:
    """Cancel a meeting; calendars mark it cancelled."""
    from flows.operations import CANCEL_MEETING

    result = run_change(
        CANCEL_MEETING,
        process_key=process_key_of(process),
        meeting_key=meeting,
        actor=actor_name(actor),
        reason=reason,
    )
    console.print(f"meeting {result['meeting']} is {result['status']}")


@meeting_app.command("list")
def meeting_list(process: ProcessOpt = None) -> None:
    """The meetings of a process: when, where, which stage, and their status."""
    from models.db import read_session
    from models.enums import MEETING_KIND_WORDS
    from models.meetings import meeting_when
    from models.queries import meetings_of, only_process, stages_of

    require_database()
    with read_session() as session:
        found = only_process(session, process)
        stages = {s.id: s.name for s in stages_of(session, found)}
        rows = meetings_of(session, found)
    table = Table("Key", "Meeting", "Kind", "When", "Stage", "Status")
    for m in rows:
        status = m.status.value + (" (to be confirmed)" if m.tentative and m.status.value == "scheduled" else "")
        table.add_row(m.key, m.title, MEETING_KIND_WORDS[m.kind], meeting_when(m), stages.get(m.stage_id, ""), status)
    console.print(table)
