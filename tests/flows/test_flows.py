"""Every change runs as a Prefect flow named after the process and the stage; a refusal fails the run, writes
nothing, and comes back to the caller as the same error."""

from __future__ import annotations

from datetime import date

import pytest

from config import clock
from flows import reminders, stages
from flows.engine import run
from models.errors import Conflict, TransitionRefused
from tests.conftest import ACTOR, seoul
from tests.helpers import fingerprint, record_held

P = "neaspec-sp-2026-2030"
pytestmark = pytest.mark.usefixtures("prefect_server")


def flow_runs_named(fragment: str) -> list[tuple[str, str]]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    return [(r.name, r.state.type.value if r.state else "") for r in runs if fragment in r.name]


def test_flows_change_the_process_and_name_their_runs(neaspec: str) -> None:
    with clock.frozen(seoul("2024-12-13 09:00")):
        assert run(stages.start_stage, process_key=P, stage_key="som27-kickoff", actor=ACTOR) == {
            "stage": "som27-kickoff",
            "state": "active",
        }
    record_held(P, "som27-egm", seoul("2024-12-16 08:00"))
    with clock.frozen(seoul("2024-12-16 09:00")):
        result = run(stages.advance_stage, process_key=P, stage_key="som27-kickoff", actor=ACTOR)
    assert result["started"] == []  # ready; the sweep opens it with its window, as a flow run
    with clock.frozen(seoul("2025-01-01 09:00")):
        assert run(reminders.sweep_reminders)["opened"] == ["annotated-outline"]
    with clock.frozen(seoul("2025-03-03 10:00")):
        run(
            stages.advance_stage,
            process_key=P,
            stage_key="annotated-outline",
            actor=ACTOR,
            approver=ACTOR,
            note="Outline final",
        )
    with clock.frozen(seoul("2025-03-10 15:00")):
        run(
            stages.record_response,
            process_key=P,
            stage_key="outline-feedback",
            member_state="KR",
            actor=ACTOR,
            received_on=date(2025, 3, 10),
        )
        moved = run(
            stages.reschedule_stage,
            process_key=P,
            stage_key="outline-feedback",
            actor=ACTOR,
            reason="More time",
            end=date(2025, 4, 7),
        )
    assert moved["moved"][:2] == ["outline-feedback", "consultations"]
    names = [name for name, state in flow_runs_named(P) if state == "COMPLETED"]
    for expected in (
        f"{P}: start som27-kickoff",
        f"{P}: advance som27-kickoff",
        f"{P}: open the stages whose window opened",
        f"{P}: advance annotated-outline",
        f"{P}: response to outline-feedback from KR",
        f"{P}: reschedule outline-feedback",
    ):
        assert expected in names


def test_a_refused_flow_fails_its_run_and_changes_nothing(neaspec: str) -> None:
    before = fingerprint()
    with clock.frozen(seoul("2024-12-20 09:00")), pytest.raises(TransitionRefused, match="depends on som27-kickoff"):
        run(stages.start_stage, process_key=P, stage_key="annotated-outline", actor=ACTOR)
    assert fingerprint() == before
    assert (f"{P}: start annotated-outline", "FAILED") in flow_runs_named("start annotated-outline")


def test_advancing_a_completed_stage_through_the_flow(neaspec: str) -> None:
    with clock.frozen(seoul("2024-12-13 09:00")):
        run(stages.start_stage, process_key=P, stage_key="som27-kickoff", actor=ACTOR)
    record_held(P, "som27-egm", seoul("2024-12-16 08:00"))
    with clock.frozen(seoul("2024-12-16 09:00")):
        run(stages.advance_stage, process_key=P, stage_key="som27-kickoff", actor=ACTOR)
        before = fingerprint()
        with pytest.raises(Conflict, match="already advanced"):
            run(stages.advance_stage, process_key=P, stage_key="som27-kickoff", actor=ACTOR)
    assert fingerprint() == before
