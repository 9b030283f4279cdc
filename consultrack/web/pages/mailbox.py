"""The local mail sink (.eml files), for administrators: the list of messages, and one message read as text."""

from __future__ import annotations

import email
import email.message
import email.parser
import email.policy
import email.utils
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from config.settings import get_settings
from consultrack.web.rendering import render
from consultrack.web.security import AdminOnly
from models.errors import NotFound

router = APIRouter()


def _mailbox_files() -> list[Path]:
    box = get_settings().mailbox_dir
    return sorted(box.glob("*.eml")) if box.is_dir() else []


def _sent_at(headers: email.message.Message, path: Path) -> datetime:
    """The message's Date (the domain clock's time of sending), else when the file arrived."""
    try:
        return email.utils.parsedate_to_datetime(str(headers.get("Date")))
    except (TypeError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


@router.get("/mailbox", response_class=HTMLResponse)
def mailbox(request: Request, _: AdminOnly) -> Response:
    """The local mail sink: what the reminders and digests sent, when mail stays on this machine."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    messages = []
    for path in _mailbox_files():
        with path.open("rb") as handle:
            headers = parser.parse(handle)
        messages.append(
            {
                "name": path.name,
                "to": headers.get("To", ""),
                "subject": headers.get("Subject", ""),
                "date": headers.get("Date", ""),
                "at": _sent_at(headers, path),
            }
        )
    messages.sort(key=lambda m: (m["at"], m["name"]), reverse=True)
    return render(
        request, "mailbox.html", {"messages": messages[:300], "total": len(messages), "box": get_settings().mailbox_dir}
    )


@router.get("/mailbox/{name}", response_class=HTMLResponse)
def mailbox_message(request: Request, name: str, _: AdminOnly) -> Response:
    path = next((p for p in _mailbox_files() if p.name == name), None)
    if path is None:
        raise NotFound(f"no message {name!r} in the mailbox")
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    headers = [
        (h, str(message.get(h)))
        for h in ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")
        if message.get(h)
    ]
    return render(request, "message.html", {"name": name, "headers": headers, "text": text})
