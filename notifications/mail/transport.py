"""SMTP through aiosmtplib, one connection for a batch, and the one way out for every message: `route()` says
where mail goes (the local sink, or the configured server with its TLS, STARTTLS, certificate and login
settings) and `Route.connection()` opens the connection there. The sweep, `feed token new --send` (`send_now`)
and /healthz (`probe`) all go through it, so a setting honoured by one is honoured by all.

Failures are sorted by what the sweep should do: retry later (4xx, a dropped connection), give up on the message
(5xx), or stop and keep everything (login)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

import aiosmtplib

from config.private_files import private_dir
from config.settings import Settings
from notifications.mail.message import Envelope
from notifications.mail.sink import running_sink


class _Refusal(Exception):
    refused: dict[str, str]
    """Every recipient the server refused at RCPT TO (main and copies), with its reply; empty for a refused
    message (MAIL FROM, DATA)."""
    delivered: list[str]
    """The recipients that took the message although it failed (copies whose main recipient was refused):
    a retry must not send it to them again."""

    def __init__(self, message: str, refused: dict[str, str] | None = None, delivered: list[str] | None = None) -> None:
        super().__init__(message)
        self.refused = refused or {}
        self.delivered = delivered or []


class TransientFailure(_Refusal):
    """4xx: the server may take the message later."""


class PermanentFailure(_Refusal):
    """5xx: the server will never take this message."""


class ConnectionLost(Exception):
    """The connection dropped or could not be opened; nothing is known about the message in flight."""


class LoginFailed(Exception):
    """The server refused our credentials: a setting to fix, not a message to give up on."""


def _refusal(
    main: list[str], refused: dict[str, tuple[int, str]], note: str = "", delivered: list[str] | None = None
) -> _Refusal | None:
    """The failure of a message by what the server said to its main recipients at RCPT TO; None when every
    main recipient took it (refused copies are then only recorded). 5xx for all of them: permanent; any 4xx:
    try again later."""
    wanted = {address.lower() for address in main}
    codes = [code for address, (code, _) in refused.items() if address.lower() in wanted]
    if not codes:
        return None
    detail = "; ".join(f"{address}: {code} {text}" for address, (code, text) in refused.items()) + note
    replies = {address: f"{code} {text}" for address, (code, text) in refused.items()}
    if all(code >= 500 for code in codes):
        return PermanentFailure(detail, replies, delivered)
    return TransientFailure(detail, replies, delivered)


def _classify(exc: aiosmtplib.SMTPException, main: list[str] | None = None) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = {r.recipient: (r.code, r.message) for r in exc.recipients}
        return _refusal(main or [], refused) or _refusal(list(refused), refused) or TransientFailure(str(exc))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
        if exc.code == 421:
            return ConnectionLost(text)
        return PermanentFailure(text) if exc.code >= 500 else TransientFailure(text)
    return ConnectionLost(f"{type(exc).__name__}: {exc}")


class Connection:
    """`async with route.connection() as smtp: await smtp.send(message)`."""

    def __init__(self, smtp: aiosmtplib.SMTP) -> None:
        self._smtp = smtp

    async def __aenter__(self) -> Connection:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        try:
            await self._smtp.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            self._smtp.close()
            raise LoginFailed(f"SMTP login refused: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPException as exc:
            self._smtp.close()
            raise _classify(exc) from exc
        except OSError as exc:
            raise ConnectionLost(f"cannot connect: {exc}") from exc

    async def close(self) -> None:
        if self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._smtp.close()

    async def send(self, envelope: Envelope) -> tuple[str, dict[str, str]]:
        """The server's reply, and the copies it refused (the others have the message). A refused main
        recipient raises, although the copies went: 5xx PermanentFailure, 4xx TransientFailure (the server
        refuses all recipients only when none is accepted, so its reply alone does not tell)."""
        try:
            refused, reply = await self._smtp.sendmail(envelope.sender, envelope.recipients, envelope.data)
        except aiosmtplib.SMTPException as exc:
            failure = _classify(exc, envelope.main)
            if self._smtp.is_connected and not isinstance(failure, ConnectionLost):
                try:
                    await self._smtp.rset()
                except (aiosmtplib.SMTPException, OSError):
                    self._smtp.close()
            raise failure from exc
        except OSError as exc:
            self._smtp.close()
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
        delivered = [a for a in envelope.recipients if a not in refused]
        refusal = _refusal(
            envelope.main,
            {addr: (r.code, r.message) for addr, r in refused.items()},
            f" (the copy to {', '.join(delivered)} was delivered)",
            delivered,
        )
        if refusal is not None:
            raise refusal
        return reply, {addr: f"{r.code} {r.message}" for addr, r in refused.items()}


@dataclass(frozen=True)
class Route:
    """Where messages go while a `route()` block runs."""

    settings: Settings
    host: str
    port: int
    sink: bool
    """The local sink: plain SMTP on loopback, no login (the server's TLS and login settings are not its own)."""

    def connection(self, *, timeout: float | None = None) -> Connection:
        """A connection (opened by `open()` or `async with`) honouring every transport setting."""
        settings = self.settings
        timeout = settings.smtp_timeout if timeout is None else timeout
        if self.sink:
            return Connection(aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=timeout, start_tls=False))
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return Connection(
            aiosmtplib.SMTP(
                hostname=self.host,
                port=self.port,
                timeout=timeout,
                use_tls=settings.smtp_tls,
                start_tls=settings.smtp_starttls,
                validate_certs=settings.smtp_validate_certs,
                username=settings.smtp_username or None,
                password=password,
            )
        )


@contextmanager
def route(settings: Settings) -> Iterator[Route]:
    """The way out for as long as the block runs: the local sink (started here if it is not running) when
    `mail_sink` is set, else the configured SMTP server."""
    if settings.mail_sink:
        with running_sink(settings.mailbox_dir) as (host, port):
            yield Route(settings, host, port, sink=True)
    else:
        yield _server(settings)


def _server(settings: Settings) -> Route:
    return Route(settings, settings.smtp_host, settings.smtp_port, sink=False)


async def send_now(settings: Settings, envelope: Envelope) -> tuple[str, dict[str, str]]:
    """Send one message on its own connection; what `Connection.send` returns or raises (and LoginFailed or
    ConnectionLost when the server cannot be reached)."""
    with route(settings) as way:
        async with way.connection() as smtp:
            return await smtp.send(envelope)


async def probe(settings: Settings, *, timeout: float) -> None:
    """Show that mail can go out, without sending any. The sink needs only a mailbox it can
    write (OSError otherwise); a server must take a connection as for a message: greeting, TLS or STARTTLS with
    its certificate checked as configured, and login (LoginFailed, ConnectionLost, ... otherwise)."""
    if settings.mail_sink:
        box = settings.mailbox_dir
        private_dir(box)
        check = box / ".healthz"
        check.write_text("ok")
        check.unlink()
        return
    async with _server(settings).connection(timeout=timeout):
        pass
