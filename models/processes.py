"""Turning a validated template into a process with its stages and meetings."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from models.audit import record
from models.errors import Conflict
from models.process import Meeting, Process, Stage
from models.template import ProcessTemplate


def create_process(
    session: Session, template: ProcessTemplate, *, actor: str, now: datetime, template_name: str = ""
) -> Process:
    if session.exec(select(Process).where(Process.key == template.key)).first() is not None:
        raise Conflict(f"process {template.key!r} exists already")
    process = Process(
        key=template.key,
        title=template.title,
        short_name=template.short_name,
        timezone=template.timezone,
        source=template.source,
        reminder_policy=template.reminders.model_dump(mode="json"),
        template_name=template_name,
        limits=[limit.model_dump(mode="json") for limit in template.limits],
        created_at=now,
    )
    session.add(process)
    session.flush()
    assert process.id is not None  # given by the flush
    for position, spec in enumerate(template.stages, start=1):
        stage = Stage(
            process_id=process.id,
            key=spec.key,
            position=position,
            name=spec.name,
            activity=spec.activity,
            start_date=spec.window.start,
            end_date=spec.window.end,
            due_date=spec.due or spec.window.end,
            tentative=spec.tentative,
            tentative_note=spec.tentative_note,
            owners=[o.value for o in spec.owners],
            depends_on=list(spec.depends_on),
            overlap_days=spec.overlap_days,
            fixed=spec.fixed,
            gate_kind=spec.gate.kind,
            gate=spec.gate.model_dump(mode="json", exclude={"kind"}, exclude_none=True),
            reminder_policy=spec.reminders.model_dump(mode="json") if spec.reminders else None,
            modified_at=now,
        )
        session.add(stage)
        session.flush()
        assert stage.id is not None
        for m in spec.meetings:
            session.add(
                Meeting(
                    process_id=process.id,
                    stage_id=stage.id,
                    key=m.key,
                    title=m.title,
                    day=m.date,
                    end_day=m.end_date or m.date,
                    start_time=m.start,
                    end_time=m.end,
                    timezone=m.timezone,
                    location=m.location,
                    virtual=m.virtual,
                    tentative=m.tentative or spec.tentative,
                    attendees=[a.value for a in m.attendees],
                    kind=m.kind,
                    online_link=m.online_link,
                    dial_in=m.dial_in,
                    agenda_link=m.agenda_link,
                    documents_link=m.documents_link,
                    modified_at=now,
                )
            )
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="process.create",
        process_key=process.key,
        after={"template": template_name, "stages": [s.key for s in template.stages]},
    )
    return process
