"""The state-changing operations, shared by the dashboard and the API: each runs its flow (flows/stages.py).

Input is checked here before a flow starts, so malformed input costs no flow run and gets one clear message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from fastapi import FastAPI

from models.errors import InvalidInput
from models.text import check_plain

MAX_TEXT = 2000
OPERATIONS = ("start_stage", "advance_stage", "skip_stage", "reschedule_stage", "record_response",
              "set_meeting_status")


def clean_text(value: object, what: str, *, required: bool = False, limit: int = MAX_TEXT,
               multiline: bool = False) -> str | None:
    """Text as stored: stripped, bounded, without control characters (models/text.py: line breaks only where
    `multiline`), which PostgreSQL, mail or calendars would reject or misread."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise InvalidInput(f"{what} must be text")
    check_plain(text, what, multiline=multiline)
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if not text:
        if required:
            raise InvalidInput(f"{what} is required")
        return None
    return text


def parse_day(value: object, what: str, *, required: bool = False) -> date | None:
    text = clean_text(value, what, required=required, limit=40)
    if text is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what}: {text!r} is not a date; use YYYY-MM-DD, e.g. 2025-04-15") from None


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
