"""The gates' rules as pure functions of what is recorded: no database, every case in milliseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from models.directory import MemberState
from models.enums import GateKind, MeetingStatus
from models.gates import GateInputs, decision_gate, manual_gate, meeting_gate, responses_gate
from models.process import Meeting
from tests.rows import PROCESS, stage_row
from tests.rows import STARTED as T0

STATES = [
    MemberState(code=c, name=n, timezone="Asia/Seoul", name_in_text=t)
    for c, n, t in (
        ("CN", "China", ""),
        ("JP", "Japan", ""),
        ("KP", "DPR Korea", "the DPR Korea"),
        ("MN", "Mongolia", ""),
        ("KR", "Republic of Korea", "the Republic of Korea"),
        ("RU", "Russian Federation", "the Russian Federation"),
    )
]
BEFORE_DEADLINE = datetime(2025, 3, 31, 14, 59, tzinfo=UTC)  # 23:59 on 31 March in Seoul
AFTER_DEADLINE = datetime(2025, 3, 31, 15, 0, tzinfo=UTC)


stage = stage_row


def test_responses_wait_for_every_state_and_name_those_still_owing() -> None:
    status = responses_gate(stage(), PROCESS, STATES, {"CN", "JP", "MN", "KR"}, BEFORE_DEADLINE, GateInputs())
    assert not status.met and not status.may_proceed
    assert status.missing == [
        "waiting for responses from the DPR Korea, the Russian Federation; deadline 31 March 2025",
        "the secretariat may proceed without every response after the deadline of 31 March 2025",
    ]
    assert [c.done for c in status.checks] == [True, True, False, True, True, False]
    assert responses_gate(stage(), PROCESS, STATES, {s.code for s in STATES}, BEFORE_DEADLINE, GateInputs()).met


def test_a_quorum_is_enough() -> None:
    quorum = stage(gate={"quorum": 4})
    assert responses_gate(quorum, PROCESS, STATES, {"CN", "JP", "MN", "KR"}, BEFORE_DEADLINE, GateInputs()).met
    short = responses_gate(quorum, PROCESS, STATES, {"CN", "JP", "MN"}, BEFORE_DEADLINE, GateInputs())
    assert not short.met and "(3 of the 4 needed)" in short.missing[0]


def test_after_the_deadline_the_secretariat_may_proceed_with_a_reason() -> None:
    """The deadline ends with its day in the process's zone (Seoul): one minute earlier it has not passed."""
    late = responses_gate(stage(), PROCESS, STATES, {"CN"}, AFTER_DEADLINE, GateInputs())
    assert not late.met and late.may_proceed
    assert late.missing[-1] == "the deadline (31 March 2025) has passed: the secretariat may proceed with a reason"
    going_on = responses_gate(stage(), PROCESS, STATES, {"CN"}, AFTER_DEADLINE, GateInputs(proceed_reason="agreed"))
    assert going_on.met and going_on.missing == [] and going_on.checks[-1].detail == "agreed"


def meeting(**fields: object) -> Meeting:
    values: dict[str, object] = {
        "id": 3,
        "process_id": 1,
        "stage_id": 2,
        "key": "nfp",
        "title": "NFP meeting",
        "day": date(2025, 4, 10),
        "end_day": date(2025, 4, 10),
        "start_time": time(15),
        "end_time": time(18),
        "timezone": "Asia/Seoul",
        "modified_at": T0,
    }
    return Meeting(**{**values, **fields})


def test_a_meeting_gate_reads_the_meetings_record() -> None:
    """Only the secretariat's record opens it: a meeting whose end has passed is not thereby held."""
    ends = datetime(2025, 4, 10, 9, 0, tzinfo=UTC)  # 18:00 in Seoul
    assert not meeting_gate(meeting(), ends.replace(minute=0, hour=8)).met
    ended = meeting_gate(meeting(), ends.replace(month=5))
    assert not ended.met and ended.missing == [
        "meeting 'NFP meeting' has not been recorded as held (it ended 10 April 2025 18:00 Asia/Seoul; record it held)"
    ]
    assert meeting_gate(meeting(status=MeetingStatus.HELD), T0).met
    cancelled = meeting_gate(meeting(status=MeetingStatus.CANCELLED), ends.replace(year=2026))
    assert not cancelled.met and cancelled.checks[0].detail == "the meeting was cancelled"
    tentative = meeting_gate(meeting(tentative=True), ends.replace(year=2026))
    assert not tentative.met and tentative.checks[0].detail == "its date is still to be confirmed"


def test_approval_and_decision_need_their_words() -> None:
    manual = stage(GateKind.MANUAL)
    assert not manual_gate(manual, GateInputs(approver="Ms Kim")).met  # an approval needs its note
    assert manual_gate(manual, GateInputs(approver="Ms Kim", note="reviewed")).met
    assert manual_gate(stage(GateKind.MANUAL, approved_by="Ms Kim"), GateInputs()).met
    decision = stage(GateKind.DECISION_RECORDED, {"label": "adopted by SOM-28"})
    assert decision_gate(decision, GateInputs()).missing == [
        "needs the decision recorded (adopted by SOM-28): its text and date"
    ]
    assert not decision_gate(decision, GateInputs(decision_text="Adopted")).met  # and its date
    assert decision_gate(decision, GateInputs(decision_text="Adopted", decision_date=date(2025, 11, 20))).met
