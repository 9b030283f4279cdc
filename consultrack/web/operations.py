"""The state-changing operations, shared by the dashboard and the API: each runs its flow (flows/stages.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from models.errors import InvalidInput

OPERATIONS = ("start_stage", "advance_stage", "skip_stage", "reschedule_stage", "record_response",
              "set_meeting_status")


async def perform(app: FastAPI, name: str, **kwargs: Any) -> dict[str, Any]:
    """Run the named flow and, once it has changed something, tell the service (it wakes the reminder sweep so
    that the e-mail a transition causes leaves within seconds, not at the next minute)."""
    if name not in OPERATIONS:
        raise InvalidInput(f"unknown operation {name!r}")
    from flows import stages
    from flows.engine import arun

    result: dict[str, Any] = await arun(getattr(stages, name), **kwargs)
    after_change: Callable[[], Awaitable[None]] | None = getattr(app.state, "after_change", None)
    if after_change is not None:
        await after_change()
    return result
