"""Input as the dashboard's forms and the API take it: text and dates checked before any flow starts, so that
malformed input costs no flow run and gets one clear message."""

from __future__ import annotations

import re
from datetime import date

from models.errors import InvalidInput
from models.text import check_plain

MAX_TEXT = 2000
ROW_ID_MAX = 2**63 - 1
"""The largest id a database column holds: a bigger one in a URL is a 422, not an overflow (a 500)."""


def clean_text(
    value: object, what: str, *, required: bool = False, limit: int = MAX_TEXT, multiline: bool = False
) -> str | None:
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
