"""SMTP through aiosmtplib, one connection for a batch. Failures are sorted by what the sweep should do:
retry later (4xx, a dropped connection), give up on the message (5xx), or stop and keep everything (login)."""

from __future__ import annotations

from types import TracebackType

import aiosmtplib

from config.settings import Settings
from notifications.message import Envelope


class TransientFailure(Exception):
    """4xx: the server may take the message later."""


class PermanentFailure(Exception):
    """5xx: the server will never take this message."""


class ConnectionLost(Exception):
    """The connection dropped or could not be opened; nothing is known about the message in flight."""


class LoginFailed(Exception):
    """The server refused our credentials: a setting to fix, not a message to give up on."""


def _classify(exc: aiosmtplib.SMTPException) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return PermanentFailure(detail) if all(c >= 500 for c in codes) else TransientFailure(detail)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
        if exc.code == 421:
            return ConnectionLost(text)
        return PermanentFailure(text) if exc.code >= 500 else TransientFailure(text)
    return ConnectionLost(f"{type(exc).__name__}: {exc}")


class Connection:
    """`async with Connection(settings, host, port) as smtp: await smtp.send(message)`."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self._smtp = aiosmtplib.SMTP(
            hostname=host, port=port, timeout=settings.smtp_timeout, use_tls=settings.smtp_tls,
            start_tls=settings.smtp_starttls, validate_certs=settings.smtp_validate_certs,
            username=settings.smtp_username or None, password=password,
        )

    async def __aenter__(self) -> Connection:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
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
        """The server's reply, and the recipients it refused (the others have the message)."""
        try:
            refused, reply = await self._smtp.sendmail(envelope.sender, envelope.recipients, envelope.data)
        except aiosmtplib.SMTPException as exc:
            if self._smtp.is_connected and not isinstance(_classify(exc), ConnectionLost):
                try:
                    await self._smtp.rset()
                except (aiosmtplib.SMTPException, OSError):
                    self._smtp.close()
            raise _classify(exc) from exc
        except OSError as exc:
            self._smtp.close()
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
        return reply, {addr: f"{r.code} {r.message}" for addr, r in refused.items()}
