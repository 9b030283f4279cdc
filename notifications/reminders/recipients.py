"""Who is reminded of a stage: its owners who have not yet done their part, and where they are.

Member States act through their focal points; a member State that has responded is not reminded again; its
alternate focal point is the escalation contact. The secretariat collects the responses of member States, so
it is not reminded of stages that wait on them (the daily digest tells it instead).

The other owners (secretariat, stakeholders, SOM delegates) cannot record a response: what they owe is the
stage's gate, so they are reminded only while it is not met (models.gates.evaluate_gate decides). The start
notice of a stage goes to all its owners all the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models.audience import active_people, active_secretariat, own_zone
from models.directory import MemberState, Person
from models.enums import OWNER_OF_ROLE, Owner, Role, StageState
from models.gates import GateStatus, evaluate_gate
from models.process import Meeting, Process, Stage
from models.queries import responded_codes
from notifications.reminders.workdays import country_of_zone


@dataclass(frozen=True)
class Recipient:
    person: Person
    owner: Owner
    member_state: MemberState | None
    zone: str
    zone_known: bool
    """False when neither the person nor their member State has a time zone: the process's zone stands in."""
    country: str | None


def locate(person: Person, state: MemberState | None, fallback_zone: str) -> tuple[str, bool, str | None]:
    """The recipient's zone (models.audience.zone_of), whether it is their own or their member State's rather
    than `fallback_zone`, and their country."""
    own = own_zone(person, state)
    zone = own or fallback_zone
    country = person.member_state_code or country_of_zone(zone)
    return zone, own is not None, country


def secretariat_addresses(session: Session) -> list[str]:
    return [p.email for p in active_secretariat(session)]


def owners_of(session: Session, stage: Stage, fallback_zone: str) -> list[Recipient]:
    """The first-line contacts of every owner of `stage`, each once, leaving out member States that have
    responded (they have done their part); whether the gate is met is not considered (see `owing`)."""
    states = {m.code: m for m in session.exec(select(MemberState)).all()}
    found: dict[int, Recipient] = {}

    def add(person: Person, owner: Owner) -> None:
        assert person.id is not None  # a stored row
        if person.id in found:
            return
        state = states.get(person.member_state_code or "")
        zone, known, country = locate(person, state, fallback_zone)
        found[person.id] = Recipient(person, owner, state, zone, known, country)

    owners = stage.who_acts
    done = responded_codes(session, stage) if stage.owes_responses else set()
    for owner in owners:
        if owner is Owner.MEMBER_STATES:
            for code in sorted(set(states) - done):
                for person in active_people(session, Role.FOCAL_POINT, code):
                    add(person, owner)
        elif owner is Owner.SECRETARIAT:
            if not stage.owes_responses:
                for person in active_secretariat(session):
                    add(person, owner)
        elif owner is Owner.STAKEHOLDERS:
            for person in active_people(session, Role.STAKEHOLDER):
                add(person, owner)
        elif owner is Owner.SOM:
            for person in active_people(session, Role.SOM_DELEGATE):
                add(person, owner)
    return list(found.values())


def gated(owner: Owner) -> bool:
    """True for the owners whose part is the stage's gate itself (they cannot record a response)."""
    return owner is not Owner.MEMBER_STATES


def gate_met_reason(status: GateStatus) -> str | None:
    """Why a gated owner is no longer reminded, or None while the gate is not met."""
    return f"gate met ({status.kind.value})" if status.met else None


def why_not_owed(
    stage: Stage,
    person: Person | None,
    *,
    start_notice: bool,
    responded: Callable[[], set[str]],
    gate_reason: Callable[[], str | None],
) -> str | None:
    """Why a reminder to `person` about `stage` is owed no longer, or None while it is: the one rule behind the
    planner's cancellations and the sweep's last look before sending. A member State that responded owes nothing;
    a gated owner owes nothing once the gate is met (`gate_reason`, asked only then, judges it at the right
    moment); a start notice goes to every owner of an active stage. `responded` and `gate_reason` are asked only
    when the answer depends on them: most rows are settled by the stage's state alone."""
    if stage.state is not StageState.ACTIVE:
        return f"stage {stage.state.value}"
    if person is None:
        return "person removed"
    if not person.active:
        return "person inactive"
    if not gated(OWNER_OF_ROLE[person.role]):
        if person.member_state_code and person.member_state_code in responded():
            return f"{person.member_state_code} responded"
        return None
    return None if start_notice else gate_reason()


class GateAt:
    """The stage's gate, evaluated (and remembered) at the moments asked about; gates that depend on time
    (a meeting ends) are met from some moment on, so a reminder is judged at the moment it would go out."""

    def __init__(self, session: Session, process: Process, stage: Stage) -> None:
        self.session, self.process, self.stage = session, process, stage
        self._seen: dict[datetime, GateStatus] = {}

    def status(self, moment: datetime) -> GateStatus:
        if moment not in self._seen:
            self._seen[moment] = evaluate_gate(self.session, self.process, self.stage, moment)
        return self._seen[moment]

    def met(self, moment: datetime) -> bool:
        return self.status(moment).met


def owing(session: Session, process: Process, stage: Stage, now: datetime) -> list[Recipient]:
    """The first-line contacts of every owner that still owes its part at `now`, each once: member States
    that have not responded, and the other owners only while the stage's gate is not met."""
    people = owners_of(session, stage, process.timezone)
    if not any(gated(r.owner) for r in people):
        return people
    met = GateAt(session, process, stage).met(now)
    return [r for r in people if not (gated(r.owner) and met)]


def escalation_contacts(session: Session, stage: Stage, fallback_zone: str) -> list[Recipient]:
    """The alternate focal points of the member States that still owe a response."""
    if not stage.owes_responses:
        return []
    states = {m.code: m for m in session.exec(select(MemberState)).all()}
    done = responded_codes(session, stage)
    contacts = []
    for code in sorted(set(states) - done):
        for person in active_people(session, Role.ALTERNATE_FOCAL_POINT, code):
            zone, known, country = locate(person, states[code], fallback_zone)
            contacts.append(Recipient(person, Owner.MEMBER_STATES, states[code], zone, known, country))
    return contacts


def participants(session: Session, meeting: Meeting, fallback_zone: str) -> list[Recipient]:
    """Everyone a meeting invites, each once, from the directory's active people: the focal points and alternates
    of every member State (when member States attend), the secretariat, the SOM delegates, the stakeholders."""
    states = {m.code: m for m in session.exec(select(MemberState)).all()}
    found: dict[int, Recipient] = {}

    def add(person: Person, owner: Owner) -> None:
        assert person.id is not None
        if person.id not in found:
            state = states.get(person.member_state_code or "")
            zone, known, country = locate(person, state, fallback_zone)
            found[person.id] = Recipient(person, owner, state, zone, known, country)

    for value in meeting.attendees:
        owner = Owner(value)
        if owner is Owner.MEMBER_STATES:
            for code in sorted(states):
                for role in (Role.FOCAL_POINT, Role.ALTERNATE_FOCAL_POINT):
                    for person in active_people(session, role, code):
                        add(person, owner)
        elif owner is Owner.SECRETARIAT:
            for person in active_secretariat(session):
                add(person, owner)
        elif owner is Owner.STAKEHOLDERS:
            for person in active_people(session, Role.STAKEHOLDER):
                add(person, owner)
        elif owner is Owner.SOM:
            for person in active_people(session, Role.SOM_DELEGATE):
                add(person, owner)
    return list(found.values())
