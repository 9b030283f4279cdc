"""The state-changing operations on a process, each declared once: its name, what it takes, the flow that runs it
(flows/stages.py) and the audit actions it writes. The CLI, the API, the dashboard and the client (which sends an
operation to a running service) all read this registry; none keeps a list of its own.

Adding an operation: write its rule in models/, its flow in flows/stages.py (a meeting's: flows/meetings.py),
declare it here, then give it a command (consultrack/cli/stage.py; meetings: cli/meeting.py), an API route
(consultrack/web/api.py) and, if the dashboard offers it, a form (consultrack/web/pages/stage.py, meetings.py).

Importing this module costs no Prefect import: the flow is looked up when it is run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from prefect import Flow


@dataclass(frozen=True)
class Operation:
    name: str
    """The flow's function in flows/stages.py, and the name the faces run the operation by."""
    on: Literal["stage", "meeting"]
    """What it changes: a stage or a meeting of a process."""
    route: str
    """The last segment of its API path (`api_path`)."""
    parameters: tuple[str, ...]
    """What it takes besides the process, the stage or meeting, and the actor."""
    audit_actions: tuple[str, ...]
    """The actions its audit entries carry (models/audit.py), e.g. to filter the audit trail by operation."""
    page_action: str | None = None
    """The dashboard's form for it (/p/{process}/stages/{stage}/{page_action}, a meeting's
    /p/{process}/meetings/{meeting}/{page_action}); None: the API and the CLI only."""
    module: Literal["stages", "meetings", "invitations"] = "stages"
    """The module of flows/ that holds its flow."""

    @property
    def key_parameter(self) -> str:
        """The parameter naming the stage or meeting: `stage_key` or `meeting_key`."""
        return f"{self.on}_key"

    @property
    def api_path(self) -> str:
        """Its route under /api, with FastAPI's placeholders."""
        return f"/processes/{{process_key}}/{self.on}s/{{{self.key_parameter}}}/{self.route}"

    @property
    def flow(self) -> Flow[..., Any]:
        import importlib

        found: Flow[..., Any] = getattr(importlib.import_module(f"flows.{self.module}"), self.name)
        return found


START = Operation(
    "start_stage", "stage", "start", ("override_reason",), ("stage.start", "stage.start.override"), page_action="start"
)
ADVANCE = Operation(
    "advance_stage",
    "stage",
    "advance",
    ("approver", "note", "decision_text", "decision_date", "proceed_reason", "override_reason"),
    ("stage.advance", "stage.advance.override"),
    page_action="advance",
)
SKIP = Operation("skip_stage", "stage", "skip", ("reason",), ("stage.skip",), page_action="skip")
RESCHEDULE = Operation(
    "reschedule_stage",
    "stage",
    "reschedule",
    ("reason", "start", "end", "due", "confirm", "move_meetings", "keep_meetings"),
    ("stage.reschedule", "meeting.reschedule"),
    page_action="reschedule",
)
RECORD_RESPONSE = Operation(
    "record_response",
    "stage",
    "responses",
    ("member_state", "received_on", "channel", "note", "link"),
    ("response.record",),
    page_action="respond",
)
CORRECT_RESPONSE = Operation(
    "correct_response",
    "stage",
    "responses/correct",
    ("member_state", "reason", "received_on", "channel", "note"),
    ("response.correct",),
    page_action="correct-response",
)
WITHDRAW_RESPONSE = Operation(
    "withdraw_response",
    "stage",
    "responses/withdraw",
    ("member_state", "reason"),
    ("response.withdraw",),
    page_action="withdraw-response",
)
UNDO_ADVANCE = Operation(
    "undo_advance",
    "stage",
    "advance/undo",
    ("reason",),
    ("stage.advance.undo", "stage.start.undo"),
    page_action="undo-advance",
)
MEETING_STATUS = Operation(
    "set_meeting_status",
    "meeting",
    "status",
    ("status", "reason"),
    ("meeting.held", "meeting.cancelled"),
    module="meetings",
)
# Meetings as their own objects (flows/meetings.py, models/meetings.py). `add` names the new meeting's key in the
# path like the others (POST /api/processes/{process}/meetings/{key}/add).
MEETING_FIELDS = (
    "title",
    "kind",
    "location",
    "virtual",
    "online_link",
    "dial_in",
    "agenda_link",
    "documents_link",
    "attendees",
)
MEETING_WHEN = ("date", "end_date", "start", "end", "timezone")
ADD_MEETING = Operation(
    "add_meeting",
    "meeting",
    "add",
    (*MEETING_WHEN, *MEETING_FIELDS, "stage", "tentative"),
    ("meeting.add",),
    module="meetings",
)
EDIT_MEETING = Operation(
    "edit_meeting", "meeting", "edit", MEETING_FIELDS, ("meeting.edit",), page_action="edit", module="meetings"
)
MOVE_MEETING = Operation(
    "move_meeting",
    "meeting",
    "move",
    (*MEETING_WHEN, "stage", "tentative", "reason"),
    ("meeting.move",),
    page_action="move",
    module="meetings",
)
CANCEL_MEETING = Operation(
    "cancel_meeting", "meeting", "cancel", ("reason",), ("meeting.cancelled",), page_action="cancel", module="meetings"
)
MEETING_HELD = Operation(
    "record_meeting_held",
    "meeting",
    "held",
    ("held_on", "attendance", "reason"),
    ("meeting.held",),
    page_action="held",
    module="meetings",
)
MEETING_ATTENDANCE = Operation(
    "record_meeting_attendance",
    "meeting",
    "attendance",
    ("attendance", "reason"),
    ("meeting.attendance",),
    page_action="attendance",
    module="meetings",
)
INVITE = Operation(
    "invite_to_meeting", "meeting", "invite", (), ("meeting.invite",), page_action="invite", module="invitations"
)

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        START,
        ADVANCE,
        SKIP,
        RESCHEDULE,
        RECORD_RESPONSE,
        CORRECT_RESPONSE,
        WITHDRAW_RESPONSE,
        UNDO_ADVANCE,
        MEETING_STATUS,
        ADD_MEETING,
        EDIT_MEETING,
        MOVE_MEETING,
        CANCEL_MEETING,
        MEETING_HELD,
        MEETING_ATTENDANCE,
        INVITE,
    )
}
