"""The state machine and its gates, called directly as plain functions."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models import lifecycle, meetings
from models.db import get_engine, read_session, session_scope
from models.enums import MeetingStatus, StageState
from models.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from models.gates import GateInputs, evaluate_gate
from models.queries import get_process, get_stage
from models.tables import AuditEntry
from tests.conftest import ACTOR, seoul
from tests.helpers import fingerprint

P = "neaspec-sp-2026-2030"
APPROVE = GateInputs(approver=ACTOR, note="Outline final")


def start(stage: str, when: str, **kw: object) -> None:
    with session_scope() as s:
        lifecycle.start_stage(s, P, stage, actor=ACTOR, now=seoul(when), **kw)  # type: ignore[arg-type]


def advance(stage: str, when: str, inputs: GateInputs | None = None, **kw: object) -> lifecycle.AdvanceResult:
    with session_scope() as s:
        return lifecycle.advance_stage(s, P, stage, actor=ACTOR, now=seoul(when), inputs=inputs, **kw)  # type: ignore[arg-type]


def respond(code: str, when: str, stage: str = "outline-feedback") -> None:
    with session_scope() as s:
        lifecycle.record_response(s, P, stage, code, received_on=seoul(when).date(), actor=ACTOR, now=seoul(when))


def state_of(key: str) -> StageState:
    with read_session() as s:
        return get_stage(s, get_process(s, P), key).state


def to_feedback_stage() -> None:
    start("som27-kickoff", "2024-12-13 09:00")
    advance("som27-kickoff", "2024-12-16 09:00")
    advance("annotated-outline", "2025-03-03 10:00", APPROVE)


def test_history_to_the_feedback_stage(neaspec: str) -> None:
    to_feedback_stage()
    assert [state_of(k) for k in ("som27-kickoff", "annotated-outline", "outline-feedback", "consultations")] == [
        StageState.COMPLETED,
        StageState.COMPLETED,
        StageState.ACTIVE,
        StageState.PLANNED,
    ]


def test_start_refused_while_predecessors_are_open_unless_overridden(neaspec: str) -> None:
    before = fingerprint()
    with pytest.raises(TransitionRefused, match="depends on som27-kickoff \\(planned\\)"):
        start("annotated-outline", "2024-12-20 09:00")
    assert fingerprint() == before
    start("annotated-outline", "2024-12-20 09:00", override_reason="Drafting begins early, agreed at SOM-27")
    assert state_of("annotated-outline") is StageState.ACTIVE
    with read_session() as s:
        entry = s.exec(AuditEntry.__table__.select().where(AuditEntry.action == "stage.start.override")).one()
    assert entry.reason == "Drafting begins early, agreed at SOM-27"


def test_meeting_gate_waits_for_the_meeting_to_end(neaspec: str) -> None:
    start("som27-kickoff", "2024-12-13 09:00")
    with pytest.raises(TransitionRefused, match="has not been held"):
        advance("som27-kickoff", "2024-12-13 18:00")  # 17:00 in Beijing: the all-day meeting is still on
    result = advance("som27-kickoff", "2024-12-14 01:30")  # 00:30 in Beijing, 14 December
    assert result.started == ["annotated-outline"]


def test_responses_gate_says_who_is_missing(neaspec: str) -> None:
    to_feedback_stage()
    for code, when in (
        ("KR", "2025-03-10 15:00"),
        ("CN", "2025-03-14 11:00"),
        ("RU", "2025-03-18 16:00"),
        ("KP", "2025-03-19 10:00"),
    ):
        respond(code, when)
    before = fingerprint()
    with pytest.raises(TransitionRefused) as err:
        advance("outline-feedback", "2025-03-20 09:00")
    assert err.value.message == (
        "cannot advance outline-feedback: waiting for responses from Japan, Mongolia; deadline 31 March 2025"
    )
    # Before the deadline, a reason to proceed is not enough: the gate is still closed.
    with pytest.raises(TransitionRefused):
        advance("outline-feedback", "2025-03-20 09:00", GateInputs(proceed_reason="in a hurry"))
    assert fingerprint() == before
    # After the deadline the secretariat may proceed, with a reason.
    with pytest.raises(TransitionRefused, match="may proceed with a reason"):
        advance("outline-feedback", "2025-04-01 00:00")
    result = advance("outline-feedback", "2025-04-01 00:00", GateInputs(proceed_reason="Consultations as agreed"))
    assert result.stage.proceed_reason == "Consultations as agreed"
    assert result.started == ["consultations"]


def test_all_responses_open_the_gate(neaspec: str) -> None:
    to_feedback_stage()
    for code in ("CN", "KP", "JP", "MN", "KR", "RU"):
        respond(code, "2025-03-20 09:00")
    with read_session() as s:
        process = get_process(s, P)
        gate = evaluate_gate(s, process, get_stage(s, process, "outline-feedback"), seoul("2025-03-20 10:00"))
    assert gate.met and all(c.done for c in gate.checks) and len(gate.checks) == 6
    advance("outline-feedback", "2025-03-20 10:00")


def test_manual_gate_needs_a_secretariat_approver_and_a_note(neaspec: str) -> None:
    start("som27-kickoff", "2024-12-13 09:00")
    advance("som27-kickoff", "2024-12-16 09:00")
    before = fingerprint()
    with pytest.raises(TransitionRefused, match="needs approval by a member of the secretariat"):
        advance("annotated-outline", "2025-02-28 10:00")
    with pytest.raises(InvalidInput, match="is not a member of the secretariat"):
        advance("annotated-outline", "2025-02-28 10:00", GateInputs(approver="li.wei@example.org", note="ok"))
    with pytest.raises(InvalidInput, match="approval note is required"):
        advance("annotated-outline", "2025-02-28 10:00", GateInputs(approver=ACTOR, note="  "))
    with pytest.raises(NotFound, match="nobody with the e-mail address"):
        advance("annotated-outline", "2025-02-28 10:00", GateInputs(approver="ghost@example.org", note="ok"))
    assert fingerprint() == before
    result = advance("annotated-outline", "2025-02-28 10:00", APPROVE)
    assert result.stage.approved_by == ACTOR


def test_advancing_twice_is_refused_clearly(neaspec: str) -> None:
    start("som27-kickoff", "2024-12-13 09:00")
    advance("som27-kickoff", "2024-12-16 09:00")
    before = fingerprint()
    with pytest.raises(Conflict, match="som27-kickoff was already advanced"):
        advance("som27-kickoff", "2024-12-16 09:05")
    with pytest.raises(TransitionRefused, match="is planned; start it before advancing it"):
        advance("consultations", "2024-12-16 09:05")
    with pytest.raises(NotFound, match="unknown stage 'no-such-stage'"):
        advance("no-such-stage", "2024-12-16 09:05")
    assert fingerprint() == before


def test_override_needs_a_reason_and_is_audited(neaspec: str) -> None:
    start("som27-kickoff", "2024-12-13 09:00")
    with pytest.raises(TransitionRefused):
        advance("som27-kickoff", "2024-12-13 10:00", override_reason="   ")
    result = advance("som27-kickoff", "2024-12-13 10:00", override_reason="Meeting concluded early")
    assert result.overridden
    with read_session() as s:
        actions = [e.action for e in s.exec(AuditEntry.__table__.select().order_by(AuditEntry.id))]
    assert "stage.advance.override" in actions


def test_decision_gate_records_the_decision(neaspec: str) -> None:
    with session_scope() as s:
        lifecycle.start_stage(
            s, P, "som28-adoption", actor=ACTOR, now=seoul("2025-11-20 09:00"), override_reason="test: jump to SOM-28"
        )
    with pytest.raises(TransitionRefused, match="needs the decision recorded \\(adopted at SOM-28\\)"):
        advance("som28-adoption", "2025-11-21 09:00")
    with pytest.raises(InvalidInput, match="decision date is required"):
        advance("som28-adoption", "2025-11-21 09:00", GateInputs(decision_text="Adopted"))
    result = advance(
        "som28-adoption",
        "2025-11-21 09:00",
        GateInputs(decision_text="The Meeting adopted the Strategic Plan 2026-2030", decision_date=date(2025, 11, 21)),
    )
    assert result.stage.decision_date == date(2025, 11, 21)


def test_skip_needs_a_reason(neaspec: str) -> None:
    with pytest.raises(InvalidInput, match="reason"), session_scope() as s:
        lifecycle.skip_stage(s, P, "draft-review", actor=ACTOR, now=seoul("2025-06-01 09:00"), reason=" ")
    with session_scope() as s:
        lifecycle.skip_stage(
            s, P, "draft-review", actor=ACTOR, now=seoul("2025-06-01 09:00"), reason="Merged with the final NFP meeting"
        )
    assert state_of("draft-review") is StageState.SKIPPED


def test_bad_responses_are_refused(neaspec: str) -> None:
    to_feedback_stage()
    respond("JP", "2025-03-20 09:00")
    before = fingerprint()
    cases: list[tuple[type[Exception], str, dict[str, object]]] = [
        (Conflict, "Japan already responded", {"member_state": "Japan"}),
        (NotFound, "unknown member State 'Atlantis'", {"member_state": "Atlantis"}),
        (InvalidInput, "is in the future", {"member_state": "MN", "received_on": date(2025, 3, 21)}),
        (TransitionRefused, "is planned: it takes no responses", {"member_state": "MN", "stage": "consultations"}),
        (InvalidInput, "asks nothing of member States", {"member_state": "MN", "stage": "drafting"}),
        (InvalidInput, "must be an http", {"member_state": "MN", "link": "javascript:alert(1)"}),
    ]
    for error, says, kw in cases:
        args = {"stage": "outline-feedback", "received_on": date(2025, 3, 20), **kw}
        with pytest.raises(error, match=says), session_scope() as s:
            lifecycle.record_response(
                s,
                P,
                str(args["stage"]),
                str(args["member_state"]),
                received_on=args["received_on"],
                actor=ACTOR,  # type: ignore[arg-type]
                now=seoul("2025-03-20 09:00"),
                link=args.get("link"),
            )  # type: ignore[arg-type]
    assert fingerprint() == before


def test_meeting_status(neaspec: str) -> None:
    held = seoul("2025-04-10 18:00")
    with session_scope() as s:
        meetings.set_meeting_status(s, P, "nfp-2025-04", MeetingStatus.HELD, actor=ACTOR, now=held)
    with pytest.raises(Conflict, match="already held"), session_scope() as s:
        meetings.set_meeting_status(s, P, "nfp-2025-04", MeetingStatus.HELD, actor=ACTOR, now=held)
    with pytest.raises(InvalidInput, match="reason"), session_scope() as s:
        meetings.set_meeting_status(
            s, P, "som27-egm", MeetingStatus.CANCELLED, actor=ACTOR, now=seoul("2024-12-01 18:00")
        )


def test_two_secretariat_users_advance_the_same_stage_at_once(neaspec: str) -> None:
    start("som27-kickoff", "2024-12-13 09:00")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def user() -> None:
        barrier.wait()
        try:
            advance("som27-kickoff", "2024-12-16 09:00")
            outcomes.append("advanced")
        except Conflict as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=user) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[0] == "advanced"
    assert sorted(outcomes)[1].startswith("stage som27-kickoff was already advanced")
    with read_session() as s:
        advances = s.exec(AuditEntry.__table__.select().where(AuditEntry.action == "stage.advance")).all()
    assert len(advances) == 1


def test_audit_log_is_append_only(neaspec: str, data_dir: Path) -> None:
    with get_engine().connect() as conn:
        for statement in ("UPDATE audit_entry SET actor = 'mallory'", "DELETE FROM audit_entry"):
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()
    with read_session() as s:
        assert {e.actor for e in s.exec(AuditEntry.__table__.select())} == {ACTOR}
