"""Small helpers for the core tests: counting rows to prove a refusal changed nothing."""

from __future__ import annotations

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
