"""Assembling the MIME message. Names and subjects can never add a header: every header value is made one line,
addresses are validated, and a final check refuses any header value that still holds a CR or LF.

Built with the standard library's compat32 MIME classes and flattened once, here: the modern header registry
parses every header it is given, which made building a message cost more than sending it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from notifications.mail.render import Rendered, one_line

UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP
WIRE = compat32.clone(linesep="\r\n")


class InvalidAddress(ValueError):
    """An address in the directory that no server would accept; the row fails, nothing is sent."""


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: list[str]
    data: bytes
    to: list[str] = field(default_factory=list)
    """The main recipients (the others are in copy): a message they refuse was not delivered, whoever else
    took it. Empty: every recipient counts as main."""

    @property
    def main(self) -> list[str]:
        return self.to or self.recipients


@lru_cache(maxsize=4096)
def checked_address(email: str) -> str:
    if any(c in email for c in "\r\n\x00"):
        raise InvalidAddress(f"invalid e-mail address {email!r}: it contains a line break")
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(f"invalid e-mail address {email!r}: {exc}") from exc


def mailbox(name: str, email: str) -> str:
    """'Name <address>', the name RFC 2047-encoded when it is not ASCII."""
    return formataddr((one_line(name), checked_address(email)), charset="utf-8")


def _text_header(value: str) -> str:
    value = one_line(value)
    return value if value.isascii() else Header(value, "utf-8").encode()


def new_message_id(sender: str, *hints: object) -> str:
    """Stable per row once stored: a retry sends the same Message-ID, so a receiver can drop a duplicate."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "consultrack.invalid"
    return f"<ct.{'.'.join(str(h) for h in hints)}.{secrets.token_hex(6)}@{domain}>"


def build_message(
    *,
    sender: str,
    to: tuple[str, str],
    cc: list[str],
    reply_to: str | None,
    rendered: Rendered,
    message_id: str,
    date: datetime,
    ics: bytes | None,
    ics_method: str = "PUBLISH",
) -> Envelope:
    """`ics`: a calendar part. PUBLISH (a reminder's deadline) is attached as deadline.ics; REQUEST and CANCEL
    (iTIP, an invitation and its updates, RFC 6047) are the third alternative of the body, where mail clients
    look for them to offer "add to calendar"."""
    from_name, from_addr = parseaddr(sender)
    # Random 128-bit boundaries: the generator would otherwise scan the whole message for a safe one.
    body = MIMEMultipart("alternative", boundary=f"=_ct_alt_{secrets.token_hex(16)}", policy=WIRE)
    # typeshed types MIMEText's charset as a name; the email package takes a Charset too (quoted-printable here).
    body.attach(MIMEText(rendered.text, "plain", UTF8_QP, policy=WIRE))  # type: ignore[arg-type]
    body.attach(MIMEText(rendered.html, "html", UTF8_QP, policy=WIRE))  # type: ignore[arg-type]
    if ics is not None and ics_method != "PUBLISH":
        invitation = MIMEText(ics.decode(), "calendar", UTF8_QP, policy=WIRE)  # type: ignore[arg-type]
        invitation.set_param("method", ics_method)
        body.attach(invitation)
        message = body
    elif ics is None:
        message = body
    else:
        message = MIMEMultipart("mixed", boundary=f"=_ct_mix_{secrets.token_hex(16)}", policy=WIRE)
        message.attach(body)
        attachment = MIMEApplication(ics, "octet-stream", policy=WIRE)
        attachment.replace_header("Content-Type", 'text/calendar; charset="utf-8"; method=PUBLISH')
        attachment.add_header("Content-Disposition", "attachment", filename="deadline.ics")
        message.attach(attachment)
    headers = {
        "From": mailbox(from_name, from_addr),
        "To": mailbox(*to),
        "Cc": ", ".join(mailbox("", a) for a in cc) if cc else None,
        "Reply-To": mailbox(*reversed(parseaddr(reply_to))) if reply_to else None,
        "Subject": _text_header(rendered.subject),
        "Date": format_datetime(date),
        "Message-ID": one_line(message_id),
        "Auto-Submitted": "auto-generated",
    }
    for name, value in headers.items():
        if value is None:
            continue
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name} would span lines")
        message[name] = value
    recipients = [checked_address(to[1]), *cc]
    return Envelope(checked_address(from_addr), recipients, message.as_bytes(policy=WIRE), to=recipients[:1])
