"""Imports every table so that SQLModel.metadata knows them all (Alembic, tests)."""

from models.account import Account, LoginFailure, LoginSession
from models.audit import AuditEntry
from models.directory import MemberState, Person
from models.process import Meeting, MeetingAttendance, Process, Stage
from models.reminder import Reminder
from models.response import Response, WithdrawnResponse
from models.tokens import ApiToken, FeedToken

__all__ = [
    "Account",
    "ApiToken",
    "AuditEntry",
    "FeedToken",
    "LoginFailure",
    "LoginSession",
    "Meeting",
    "MeetingAttendance",
    "MemberState",
    "Person",
    "Process",
    "Reminder",
    "Response",
    "Stage",
    "WithdrawnResponse",
]
