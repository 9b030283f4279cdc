"""The state-changing operations on a process, each declared once: its name, what it takes, the flow that runs it
(flows/stages.py) and the audit actions it writes. The CLI, the API, the dashboard and the client (which sends an
operation to a running service) all read this registry; none keeps a list of its own.

Adding an operation: write its rule in models/, its flow in flows/stages.py, declare it here, then give it a
command (consultrack/cli/stage.py), an API route (consultrack/web/api.py) and, if the dashboard offers it, a form
(consultrack/web/pages/stage.py).

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
    """The dashboard's form for it (/p/{process}/stages/{stage}/{page_action}); None: the API and the CLI only."""

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
        from flows import stages

        found: Flow[..., Any] = getattr(stages, self.name)
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
MEETING_STATUS = Operation(
    "set_meeting_status", "meeting", "status", ("status", "reason"), ("meeting.held", "meeting.cancelled")
)

OPERATIONS: dict[str, Operation] = {
    op.name: op for op in (START, ADVANCE, SKIP, RESCHEDULE, RECORD_RESPONSE, MEETING_STATUS)
}
