"""The errors a user can cause. Each carries one message fit to show as it is, and a code that says which kind of
refusal it is: the API sends the code beside the message, and a client rebuilds the error from the code alone
(`error_for`), never from the message's words."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    """The kinds of refusal, as the API's JSON names them (`{"error": message, "code": code}`)."""

    REFUSED = "refused"
    NOT_FOUND = "not-found"
    INVALID_INPUT = "invalid-input"
    TRANSITION_REFUSED = "transition-refused"
    CONFLICT = "conflict"
    DATABASE_BUSY = "database-busy"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    SERVICE_UNAVAILABLE = "service-unavailable"
    INTERNAL = "internal"
    """Not a refusal: something failed on the service's side (HTTP 500)."""


class ConsultrackError(Exception):
    """Base: the operation was refused and nothing was written."""

    exit_code = 1
    http_status = 400
    code: ClassVar[ErrorCode] = ErrorCode.REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ConsultrackError):
    http_status = 404
    code = ErrorCode.NOT_FOUND


class InvalidInput(ConsultrackError):
    http_status = 422
    code = ErrorCode.INVALID_INPUT


class TransitionRefused(ConsultrackError):
    """The state machine or a gate says no; the message says what is missing."""

    http_status = 409
    code = ErrorCode.TRANSITION_REFUSED


class Conflict(ConsultrackError):
    """Somebody else changed the same thing first."""

    http_status = 409
    code = ErrorCode.CONFLICT


class DatabaseBusy(ConsultrackError):
    """Another writer held the database for longer than we wait: nothing was written; trying again will do."""

    http_status = 503
    code = ErrorCode.DATABASE_BUSY
    retry_after = 5
    """Seconds a client is asked to wait before trying again (HTTP Retry-After)."""

    def __init__(self, message: str = "the database is busy, try again in a few seconds") -> None:
        super().__init__(message)


_BY_CODE: dict[ErrorCode, type[ConsultrackError]] = {
    kind.code: kind for kind in (NotFound, InvalidInput, TransitionRefused, Conflict, DatabaseBusy)
}


def error_for(code: str | None, message: str) -> ConsultrackError:
    """The error a code names, carrying `message` (an unknown or missing code: the base kind, a plain refusal)."""
    try:
        kind = _BY_CODE.get(ErrorCode(code or ErrorCode.REFUSED), ConsultrackError)
    except ValueError:
        kind = ConsultrackError
    return kind(message)
