"""The local mail sink: an SMTP server on 127.0.0.1 that keeps each message as an .eml file in
`<data_dir>/mailbox/`. It is the transport of a fresh install and of the demo, so nothing leaves the machine.

Each file is named after the message's Message-ID and created atomically (written aside, then hard-linked into
place): a message delivered twice after a crash (same Message-ID) is kept once."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from config.private_files import private_dir

SAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def file_name(message_id: str | None, content: bytes) -> str:
    if message_id:
        return SAFE.sub("_", message_id.strip().strip("<>"))[:180] + ".eml"
    return "no-id-" + hashlib.sha256(content).hexdigest()[:24] + ".eml"


def store(mailbox: Path, content: bytes, mail_from: str, rcpt_tos: list[str]) -> bool:
    """Keep one message; False when a message with the same Message-ID is there already."""
    headers = BytesHeaderParser().parsebytes(content)
    target = mailbox / file_name(headers.get("Message-ID"), content)
    envelope = f"X-Envelope-From: <{mail_from}>\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n".encode()
    staging = mailbox / "tmp"
    private_dir(staging)
    fd, tmp = tempfile.mkstemp(dir=staging, suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(envelope + content)
        os.link(tmp, target)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


class MailboxHandler:
    def __init__(self, mailbox: Path) -> None:
        self.mailbox = mailbox
        private_dir(mailbox)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        store(self.mailbox, envelope.original_content or envelope.content, envelope.mail_from, list(envelope.rcpt_tos))
        return "250 2.0.0 kept in the local mailbox"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


_running: dict[Path, tuple[Controller, int]] = {}
_lock = threading.Lock()


@contextmanager
def running_sink(mailbox: Path) -> Iterator[tuple[str, int]]:
    """A sink for `mailbox` on a free loopback port while the block runs (shared by nested blocks)."""
    mailbox = mailbox.resolve()
    with _lock:
        if mailbox in _running:
            controller, users = _running[mailbox]
            _running[mailbox] = (controller, users + 1)
        else:
            controller = Controller(
                MailboxHandler(mailbox), hostname="127.0.0.1", port=free_port(), server_hostname="consultrack-sink"
            )
            controller.start()
            _running[mailbox] = (controller, 1)
    try:
        yield "127.0.0.1", controller.port
    finally:
        with _lock:
            controller, users = _running[mailbox]
            if users == 1:
                del _running[mailbox]
                controller.stop()
            else:
                _running[mailbox] = (controller, users - 1)


def main() -> None:
    """`python -m notifications.mail.sink --mailbox DIR --port N`: run a sink in the foreground until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mailbox", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    controller = Controller(MailboxHandler(args.mailbox), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"mail sink on 127.0.0.1:{args.port}, mailbox {args.mailbox}", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
