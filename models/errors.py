"""The errors a user can cause. Each carries one message fit to show as it is."""

from __future__ import annotations


class ConsultrackError(Exception):
    """Base: the operation was refused and nothing was written."""

    exit_code = 1
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ConsultrackError):
    http_status = 404


class InvalidInput(ConsultrackError):
    http_status = 422


class TransitionRefused(ConsultrackError):
    """The state machine or a gate says no; the message says what is missing."""

    http_status = 409


class Conflict(ConsultrackError):
    """Somebody else changed the same thing first."""

    http_status = 409


class DatabaseBusy(ConsultrackError):
    """Another writer held the database for longer than we wait: nothing was written; trying again will do."""

    http_status = 503
    retry_after = 5
    """Seconds a client is asked to wait before trying again (HTTP Retry-After)."""

    def __init__(self, message: str = "the database is busy, try again in a few seconds") -> None:
        super().__init__(message)
