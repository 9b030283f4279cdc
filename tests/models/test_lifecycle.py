"""The state machine and its gates, called directly as plain functions."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from models import lifecycle, meetings
from models.db import get_engine, read_session, session_scope
from models.enums import MeetingStatus, StageState
from models.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from models.gates import GateInputs, evaluate_gate
from models.queries import get_process, get_stage, responded_codes
from models.response import WithdrawnResponse
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


def held(meeting: str, when: str) -> None:
    with session_scope() as s:
        meetings.set_meeting_status(s, P, meeting, MeetingStatus.HELD, actor=ACTOR, now=seoul(when))


def kickoff_done() -> None:
    start("som27-kickoff", "2024-12-13 09:00")
    held("som27-egm", "2024-12-16 08:00")
    advance("som27-kickoff", "2024-12-16 09:00")


def open_windows(when: str) -> list[str]:
    """The sweep's part: start the ready stages whose window has opened."""
    with session_scope() as s:
        return lifecycle.open_ready_stages(s, P, now=seoul(when))


def to_feedback_stage() -> None:
    kickoff_done()
    open_windows("2025-01-01 09:00")
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


def test_meeting_gate_waits_for_the_meeting_to_be_recorded_held(neaspec: str) -> None:
    """The clock passing the meeting's end proves nothing: only the secretariat's record opens the gate."""
    start("som27-kickoff", "2024-12-13 09:00")
    with pytest.raises(TransitionRefused, match="has not been recorded as held \\(it ends 14 December 2024"):
        advance("som27-kickoff", "2024-12-13 18:00")  # 17:00 in Beijing: the all-day meeting is still on
    before = fingerprint()
    with pytest.raises(TransitionRefused, match="has not been recorded as held \\(it ended .*; record it held"):
        advance("som27-kickoff", "2025-01-14 01:30")  # a month later, still not recorded
    assert fingerprint() == before
    held("som27-egm", "2024-12-16 08:00")
    result = advance("som27-kickoff", "2024-12-16 09:00")
    assert result.started == []  # ready, but its window opens on 1 January


def test_a_ready_stage_starts_by_itself_when_its_window_opens(neaspec: str) -> None:
    """Not the moment its predecessor completes (16 December), but at 09:00 on 1 January in Seoul, audited."""
    kickoff_done()
    assert state_of("annotated-outline") is StageState.PLANNED
    assert open_windows("2025-01-01 08:59") == []
    assert open_windows("2025-01-01 09:00") == ["annotated-outline"]
    assert open_windows("2025-01-01 09:01") == []
    with read_session() as s:
        outline = get_stage(s, get_process(s, P), "annotated-outline")
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "stage.start")).all()[-1]
    assert outline.state is StageState.ACTIVE and outline.started_at == seoul("2025-01-01 09:00")
    assert (entry.stage_key, entry.actor) == ("annotated-outline", lifecycle.OPENED_BY)


def test_the_secretariat_may_start_a_ready_stage_before_its_window(neaspec: str) -> None:
    kickoff_done()
    start("annotated-outline", "2024-12-20 09:00")  # its predecessors are done: no override needed
    assert state_of("annotated-outline") is StageState.ACTIVE and open_windows("2025-01-01 09:00") == []


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
        "cannot advance outline-feedback: waiting for responses from Japan, Mongolia; deadline 31 March 2025; "
        "the secretariat may proceed without every response after the deadline of 31 March 2025"
    )
    # Before the deadline, a reason to proceed is not enough: the gate is still closed, and says when it opens.
    with pytest.raises(TransitionRefused, match="after the deadline of 31 March 2025"):
        advance("outline-feedback", "2025-03-20 09:00", GateInputs(proceed_reason="in a hurry"))
    assert fingerprint() == before
    # After the deadline the secretariat may proceed, with a reason.
    with pytest.raises(TransitionRefused, match="may proceed with a reason"):
        advance("outline-feedback", "2025-04-01 00:00")
    result = advance("outline-feedback", "2025-04-01 00:00", GateInputs(proceed_reason="Consultations as agreed"))
    assert result.stage.proceed_reason == "Consultations as agreed"
    assert result.started == [] and open_windows("2025-04-01 09:00") == ["consultations"]


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
    kickoff_done()
    open_windows("2025-01-01 09:00")
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
    kickoff_done()
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
    before = fingerprint()
    for decided_on, says in (
        (date(2030, 11, 21), "decision date 21 November 2030 is in the future \\(today is 21 November 2025\\)"),
        (date(2025, 11, 22), "decision date 22 November 2025 is in the future"),
        (date(2025, 11, 19), "decision date 19 November 2025 is before the stage started \\(20 November 2025\\)"),
    ):
        with pytest.raises(InvalidInput, match=says):
            advance("som28-adoption", "2025-11-21 09:00", GateInputs(decision_text="Adopted", decision_date=decided_on))
    assert fingerprint() == before
    result = advance(
        "som28-adoption",
        "2025-11-21 09:00",
        GateInputs(decision_text="The Meeting adopted the Strategic Plan 2026-2030", decision_date=date(2025, 11, 21)),
    )
    assert result.stage.decision_date == date(2025, 11, 21) and not result.overridden


def test_a_decision_date_out_of_the_stage_needs_an_override_with_a_reason(neaspec: str) -> None:
    with session_scope() as s:
        lifecycle.start_stage(
            s, P, "som28-adoption", actor=ACTOR, now=seoul("2025-11-20 09:00"), override_reason="test: jump to SOM-28"
        )
    early = GateInputs(decision_text="Adopted by written procedure", decision_date=date(2025, 11, 18))
    with pytest.raises(InvalidInput, match="give an override with a reason"):
        advance("som28-adoption", "2025-11-21 09:00", early, override_reason="  ")
    result = advance("som28-adoption", "2025-11-21 09:00", early, override_reason="Adopted before the stage opened")
    assert result.overridden and result.stage.decision_date == date(2025, 11, 18)
    with read_session() as s:
        entry = s.exec(AuditEntry.__table__.select().where(AuditEntry.action == "stage.advance.override")).one()
    assert entry.reason == "Adopted before the stage opened"
    assert "before the stage started" in entry.after["decision_date_overridden"]


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
    held("som27-egm", "2024-12-16 08:00")
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


def test_a_response_is_corrected_or_withdrawn_with_a_reason_and_kept(neaspec: str) -> None:
    to_feedback_stage()
    respond("JP", "2025-03-20 09:00")
    now = seoul("2025-03-21 09:00")
    before = fingerprint()
    with pytest.raises(InvalidInput, match="reason to correct a response is required"), session_scope() as s:
        lifecycle.correct_response(s, P, "outline-feedback", "JP", actor=ACTOR, now=now, reason=" ", channel="letter")
    with pytest.raises(InvalidInput, match="nothing to correct"), session_scope() as s:
        lifecycle.correct_response(s, P, "outline-feedback", "JP", actor=ACTOR, now=now, reason="typo")
    with pytest.raises(InvalidInput, match="is in the future"), session_scope() as s:
        lifecycle.correct_response(
            s, P, "outline-feedback", "JP", actor=ACTOR, now=now, reason="typo", received_on=date(2025, 3, 22)
        )
    with pytest.raises(NotFound, match="no response from Mongolia to outline-feedback"), session_scope() as s:
        lifecycle.withdraw_response(s, P, "outline-feedback", "MN", actor=ACTOR, now=now, reason="error")
    assert fingerprint() == before
    with session_scope() as s:
        lifecycle.correct_response(
            s,
            P,
            "outline-feedback",
            "Japan",
            actor=ACTOR,
            now=now,
            reason="Received the day before, by letter",
            received_on=date(2025, 3, 19),
            channel="letter",
        )
    with session_scope() as s:
        lifecycle.withdraw_response(
            s, P, "outline-feedback", "JP", actor=ACTOR, now=now, reason="Recorded against the wrong stage"
        )
    with read_session() as s:
        process = get_process(s, P)
        feedback = get_stage(s, process, "outline-feedback")
        assert "JP" not in responded_codes(s, feedback)
        kept = s.exec(select(WithdrawnResponse)).one()
        log = {e.action: e for e in s.exec(select(AuditEntry).where(col(AuditEntry.action).startswith("response.")))}
    assert (kept.member_state_code, kept.received_on, kept.channel) == ("JP", date(2025, 3, 19), "letter")
    assert kept.reason == "Recorded against the wrong stage" and kept.withdrawn_by == ACTOR
    assert log["response.correct"].before["received_on"] == "2025-03-20"
    assert log["response.correct"].reason == "Received the day before, by letter"
    assert (
        log["response.withdraw"].after["summary"] == "Response from Japan withdrawn: Recorded against the wrong stage"
    )
    respond("JP", "2025-03-21 09:00")  # the State may respond again


def test_an_advance_is_undone_the_same_day_by_whoever_made_it(neaspec: str) -> None:
    to_feedback_stage()  # annotated-outline advanced on 3 March 10:00 by ACTOR, which started outline-feedback

    def undo(when: str, actor: str = ACTOR, reason: str = "Advanced the wrong stage") -> list[str]:
        with session_scope() as s:
            return lifecycle.undo_advance(s, P, "annotated-outline", actor=actor, now=seoul(when), reason=reason)

    before = fingerprint()
    with pytest.raises(InvalidInput, match="reason to undo an advance is required"):
        undo("2025-03-03 11:00", reason=" ")
    with pytest.raises(TransitionRefused, match="advanced by minji.secretariat@example.org: only they may undo it"):
        undo("2025-03-03 11:00", actor="arjun.programme@example.org")
    with pytest.raises(TransitionRefused, match="advanced on 3 March 2025: an advance is undone only the same day"):
        undo("2025-03-04 09:00")
    respond("KR", "2025-03-03 10:30")
    with pytest.raises(TransitionRefused, match="responses to outline-feedback are already recorded"):
        undo("2025-03-03 11:00")
    with session_scope() as s:
        lifecycle.withdraw_response(
            s, P, "outline-feedback", "KR", actor=ACTOR, now=seoul("2025-03-03 10:40"), reason="x"
        )
    assert undo("2025-03-03 11:00") == ["outline-feedback"]
    assert (state_of("annotated-outline"), state_of("outline-feedback")) == (StageState.ACTIVE, StageState.PLANNED)
    with read_session() as s:
        actions = [e.action for e in s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))][-2:]
        outline = get_stage(s, get_process(s, P), "annotated-outline")
    assert actions == ["stage.start.undo", "stage.advance.undo"]
    assert outline.approved_by is None and outline.completed_at is None
    assert fingerprint()["counts"] != before["counts"]  # audited
