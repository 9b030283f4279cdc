"""Rows built in memory, never stored: the pure unit tests feed them to the rules without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from models.enums import GateKind, StageState
from models.process import Process, Stage

STARTED = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
PROCESS = Process(id=1, key="p", title="P", short_name="P", timezone="Asia/Seoul", created_at=STARTED)
"""A process in Seoul's time zone: its deadlines end at 15:00 UTC."""


def stage_row(gate_kind: GateKind = GateKind.RESPONSES, gate: dict[str, Any] | None = None, **fields: Any) -> Stage:
    """The outline-feedback stage of PROCESS, active since STARTED and due on 31 March 2025."""
    values: dict[str, Any] = {
        "id": 2,
        "process_id": 1,
        "key": "outline-feedback",
        "position": 1,
        "name": "Feedback",
        "activity": "",
        "start_date": date(2025, 3, 3),
        "end_date": date(2025, 3, 31),
        "due_date": date(2025, 3, 31),
        "state": StageState.ACTIVE,
        "started_at": STARTED,
        "modified_at": STARTED,
    }
    return Stage(**{**values, **fields}, gate_kind=gate_kind, gate=gate or {})
