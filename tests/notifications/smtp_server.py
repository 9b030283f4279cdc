"""A real SMTP server on loopback (aiosmtpd) that records what it accepts and misbehaves on request:
temporary failures, permanent refusals, dropped connections, slow replies, and login required."""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications.mail.sink import free_port


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Faults:
    tempfail_first: int = 0
    """Answer 451 to the first N messages."""
    reject: set[str] = field(default_factory=set)
    """Answer 550 to RCPT TO for these addresses."""
    defer: set[str] = field(default_factory=set)
    """Answer 450 (mailbox busy, try later) to RCPT TO for these addresses."""
    drop_at: set[int] = field(default_factory=set)
    """Close the connection instead of answering the Nth message (1-based), keeping nothing."""
    delay: float = 0.0
    """Seconds to wait before answering each message."""
    pause_at: int | None = None
    """Signal `paused` and wait (until the client is gone) when the Nth message arrives."""


class Recorder:
    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.deliveries: list[Delivery] = []
        self.data_commands = 0
        self.paused = threading.Event()
        self.lock = threading.Lock()

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,  # noqa: N802
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.faults.reject:
            return "550 5.1.1 no such mailbox"
        if address.lower() in self.faults.defer:
            return "450 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.data_commands += 1
            number = self.data_commands
        if number in self.faults.drop_at:
            server.transport.close()
            return "421 closing"
        if number <= self.faults.tempfail_first:
            return "451 4.3.0 try again later"
        if self.faults.pause_at == number:
            self.paused.set()
            for _ in range(600):  # until the client is killed and the connection closes
                if server.transport is None or server.transport.is_closing():
                    return "421 client gone"
                await asyncio.sleep(0.05)
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if server.transport is None or server.transport.is_closing():
            return "421 client gone"  # never acknowledged, so never delivered (RFC 5321 4.1.1.4)
        with self.lock:
            self.deliveries.append(Delivery(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 accepted"

    def recipients(self) -> list[str]:
        return sorted(r for d in self.deliveries for r in d.rcpt_tos)


def authenticator(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)

    return check


def certificate(directory: Path) -> ssl.SSLContext:
    """A throwaway self-signed certificate for 127.0.0.1, as a server's TLS context."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)  # a certificate's validity is real time, not the tracker's clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


class Server:
    """`with Server(faults) as server:` a recorder listening on server.port."""

    def __init__(
        self, faults: Faults | None = None, *, login: tuple[str, str] | None = None, port: int | None = None
    ) -> None:
        self.recorder = Recorder(faults)
        self.port = port or free_port()
        options: dict[str, Any] = {}
        if login:
            options = {"authenticator": authenticator(*login), "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> Server:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def deliveries(self) -> list[Delivery]:
        return self.recorder.deliveries


USER, PASSWORD = "tracker", "s3cret"


def starttls_controller(handler: Any, directory: Path) -> Controller:
    """A loopback server as a real provider runs one (not started): STARTTLS with a throwaway certificate, and a
    login (USER, PASSWORD) that is refused before TLS."""
    return Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=certificate(directory),
        require_starttls=True,
        authenticator=authenticator(USER, PASSWORD),
        auth_required=True,
    )


def starttls_settings(port: int) -> dict[str, str]:
    """The CONSULTRACK_* settings (without the prefix) that reach `starttls_controller`'s server."""
    return {
        "MAIL_SINK": "false",
        "SMTP_PORT": str(port),
        "SMTP_STARTTLS": "true",
        "SMTP_VALIDATE_CERTS": "false",
        "SMTP_USERNAME": USER,
        "SMTP_PASSWORD": PASSWORD,
    }
