"""Running an operation of the registry (flows/operations.py) for the dashboard and the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from flows.operations import Operation


async def perform(app: FastAPI, operation: Operation, **kwargs: Any) -> dict[str, Any]:
    """Run the operation's flow and, once it has changed something, tell the service (it wakes the reminder sweep
    so that the e-mail a transition causes leaves within seconds, not at the next minute)."""
    from flows.engine import arun

    result: dict[str, Any] = await arun(operation.flow, **kwargs)
    after_change: Callable[[], Awaitable[None]] | None = getattr(app.state, "after_change", None)
    if after_change is not None:
        await after_change()
    return result
