"""`consultrack meeting invite KEY`: send a meeting's invitations (flows/operations.py: INVITE). Registered on the
meeting group of consultrack/cli/meeting.py."""

from __future__ import annotations

from consultrack.cli.common import ActorOpt, ProcessOpt, actor_name, console, fail, process_key_of, run_change
from consultrack.cli.meeting import meeting_app


@meeting_app.command("invite")
def meeting_invite(meeting: str, process: ProcessOpt = None, actor: ActorOpt = None) -> None:
    """Invite the meeting's participants (an e-mail with a calendar invitation each, sent by the next sweep);
    those already invited are not invited again. Later changes of the meeting send them an update."""
    from flows.operations import INVITE
    from models.errors import InvalidInput

    try:
        result = run_change(INVITE, process_key=process_key_of(process), meeting_key=meeting, actor=actor_name(actor))
    except InvalidInput as exc:
        fail(exc.message, 2)
    if result["invited"]:
        console.print(f"{result['title']}: {result['invited']} invitations queued; the next sweep sends them")
    else:
        console.print(f"{result['title']}: everyone is already invited; nothing sent")
