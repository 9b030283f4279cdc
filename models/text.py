"""Text as the tracker accepts it: one rule for every entry point (templates, the directory in YAML or CSV, the
dashboard's forms, the API, the command line).

Control characters are refused, never silently dropped: no one types them, and where they travel they do harm
(a lone CR ends a line in iCalendar and lets a name inject a property; NUL is refused by PostgreSQL; others break
mail headers or show as nothing). A multi-line field (an activity, a note, a reason) may hold line breaks and
tabs; a one-line field (a name, a title) may not. Unicode's line and paragraph separators and the C1 controls
count as control characters too: they break lines in some readers."""

from __future__ import annotations

import re

from models.errors import InvalidInput

_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_NAMES = {
    "\r": "a carriage return (CR)",
    "\n": "a line break",
    "\t": "a tab",
    "\x0b": "a vertical tab (VT)",
    "\x0c": "a form feed (FF)",
    "\x00": "a NUL character",
    "\x7f": "a delete character (DEL)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}


def control_problem(text: str, *, multiline: bool = False) -> str | None:
    """Why `text` is refused, as the end of a sentence about the field ("contains a tab: ..."), or None."""
    found = (_CONTROL_BUT_LINES if multiline else _ANY_CONTROL).search(text)
    if found is None:
        return None
    char = found.group()
    name = _NAMES.get(char, f"the control character U+{ord(char):04X}")
    if not multiline and char in "\r\n\t":
        return f"contains {name}: it is one line of text"
    return f"contains {name}, which is not allowed"


def plain(text: str, *, multiline: bool = False) -> str:
    """`text` if it holds no control character; else ValueError, for pydantic validators (the caller adds the
    field and, for files, the line)."""
    problem = control_problem(text, multiline=multiline)
    if problem is not None:
        raise ValueError(problem)
    return text


def check_plain(text: str, what: str, *, multiline: bool = False) -> str:
    """The same for a value given to a rule directly: InvalidInput naming the field ("the note contains ...")."""
    problem = control_problem(text, multiline=multiline)
    if problem is not None:
        raise InvalidInput(f"{what} {problem}")
    return text
