"""Small helpers for the core tests: counting rows to prove a refusal changed nothing; recording a meeting held."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from models.db import read_session
from models.tables import AuditEntry, Meeting, MemberState, Person, Process, Response, Stage


def fingerprint() -> dict[str, object]:
    """Everything a refused operation must leave as it was."""
    with read_session() as s:
        counts = {
            t.__name__: s.scalar(select(func.count()).select_from(t))
            for t in (AuditEntry, Meeting, MemberState, Person, Process, Response, Stage)
        }
        stages = [
            (st.key, st.state, st.start_date, st.end_date, st.due_date, st.version)
            for st in s.scalars(select(Stage).order_by(Stage.id))
        ]
        people = [(p.email, p.name, p.role, p.timezone) for p in s.scalars(select(Person).order_by(Person.id))]
    return {"counts": counts, "stages": stages, "people": people}


def record_held(process_key: str, meeting_key: str, at: datetime) -> None:
    """The secretariat records a meeting held (a meeting gate opens on nothing else), as a test's given."""
    from models import meetings
    from models.db import session_scope
    from models.enums import MeetingStatus

    with session_scope() as session:
        meetings.set_meeting_status(
            session, process_key, meeting_key, MeetingStatus.HELD, actor="minji.secretariat@example.org", now=at
        )
