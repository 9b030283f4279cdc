"""Transitions of one process are serialised (the process row is locked first) and read under the lock.

A tiny template: two stages `left` and `right` with no predecessors, and `join`, which depends on both. Runs on
every backend (SQLite, and PostgreSQL with CONSULTRACK_TEST_POSTGRES=1); the races are PostgreSQL's, where row
locks on two different stages used to let two transactions each see the other's stage still active.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models import lifecycle, schedule
from models.db import get_engine, read_session, session_scope
from models.enums import StageState
from models.errors import TransitionRefused
from models.gates import GateInputs
from models.processes import create_process
from models.queries import get_process, stages_of
from models.tables import AuditEntry
from models.template import ProcessTemplate
from tests.conftest import ACTOR, seoul

P = "join-test"
DECIDED = GateInputs(decision_text="agreed", decision_date=date(2025, 2, 1))
NOW = seoul("2025-02-01 09:00")  # join's window opens: it starts as soon as it is ready


def _stage(key: str, start: str, end: str, depends_on: list[str]) -> dict[str, object]:
    return {
        "key": key,
        "name": key,
        "activity": key,
        "window": {"start": start, "end": end},
        "owners": ["secretariat"],
        "gate": {"kind": "decision_recorded"},
        "depends_on": depends_on,
    }


@pytest.fixture
def joined(data_dir: Path) -> str:
    template = ProcessTemplate.model_validate(
        {
            "key": P,
            "title": "Two predecessors, one successor",
            "short_name": "join",
            "stages": [
                _stage("left", "2025-01-01", "2025-01-31", []),
                _stage("right", "2025-01-01", "2025-01-31", []),
                _stage("join", "2025-02-01", "2025-02-28", ["left", "right"]),
            ],
        }
    )
    with session_scope() as s:
        create_process(s, template, actor=ACTOR, now=NOW)
    for key in ("left", "right"):
        with session_scope() as s:
            lifecycle.start_stage(s, P, key, actor=ACTOR, now=NOW)
    return P


def _states() -> dict[str, StageState]:
    with read_session() as s:
        return {st.key: st.state for st in stages_of(s, get_process(s, P))}


def _starts_of(key: str) -> list[str]:
    with read_session() as s:
        return list(
            s.scalars(
                select(AuditEntry.action).where(AuditEntry.stage_key == key, AuditEntry.action.like("stage.start%"))
            )
        )


def test_two_replicas_complete_the_two_predecessors_at_once(joined: str) -> None:
    """Replica 1 has completed `left` but not committed when replica 2 advances `right`. Replica 2 must wait for
    replica 1 and then see `left` completed, so that exactly one of them starts `join`. With only the stage rows
    locked, each saw the other's predecessor still active and `join` never started."""
    left_done, release = threading.Event(), threading.Event()
    started: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def replica_1() -> None:
        try:
            with Session(get_engine(), expire_on_commit=False) as s:
                started["left"] = lifecycle.advance_stage(s, P, "left", actor=ACTOR, now=NOW, inputs=DECIDED).started
                left_done.set()
                release.wait(30)
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            left_done.set()

    def replica_2() -> None:
        try:
            with session_scope() as s:
                started["right"] = lifecycle.advance_stage(s, P, "right", actor=ACTOR, now=NOW, inputs=DECIDED).started
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    one, two = threading.Thread(target=replica_1), threading.Thread(target=replica_2)
    one.start()
    assert left_done.wait(30)
    two.start()
    two.join(1.0)
    waited = two.is_alive()  # replica 2 is queued behind replica 1's lock on the process
    release.set()
    one.join(30)
    two.join(30)
    assert not errors, errors
    assert waited
    assert started == {"left": [], "right": ["join"]}
    assert _states() == {"left": StageState.COMPLETED, "right": StageState.COMPLETED, "join": StageState.ACTIVE}
    assert _starts_of("join") == ["stage.start"]


def test_a_stage_loaded_before_is_read_again_under_the_lock(joined: str) -> None:
    """A session that loaded the stages earlier must not act on those values: `join` was started meanwhile by
    someone else, so advancing the last predecessor must not start it a second time."""
    with session_scope() as s:
        lifecycle.advance_stage(s, P, "right", actor=ACTOR, now=NOW, inputs=DECIDED)
    stale = Session(get_engine(), expire_on_commit=False)
    try:
        held = stages_of(stale, get_process(stale, P))  # referenced: the session's identity map is weak
        assert held[2].state is StageState.PLANNED
        stale.commit()  # the rows stay loaded in `stale`, with the values read here
        with session_scope() as s:
            lifecycle.start_stage(s, P, "join", actor=ACTOR, now=NOW, override_reason="the SOM asked to begin")
        result = lifecycle.advance_stage(stale, P, "left", actor=ACTOR, now=NOW, inputs=DECIDED)
        stale.commit()
    finally:
        stale.close()
    assert held[2].state is StageState.ACTIVE  # refreshed in place under the lock
    assert result.started == []
    assert _starts_of("join") == ["stage.start.override"]
    assert _states()["join"] is StageState.ACTIVE


def test_start_refuses_a_stage_started_since_this_session_read_it(joined: str) -> None:
    stale = Session(get_engine(), expire_on_commit=False)
    try:
        held = stages_of(stale, get_process(stale, P))  # `join` planned, as this session will remember it
        assert held[2].state is StageState.PLANNED  # (held: the session's identity map is weak)
        stale.commit()
        with session_scope() as s:
            lifecycle.start_stage(s, P, "join", actor=ACTOR, now=NOW, override_reason="the SOM asked to begin")
        with pytest.raises(TransitionRefused, match="stage join is already active"):
            lifecycle.start_stage(stale, P, "join", actor=ACTOR, now=NOW, override_reason="again")
        stale.rollback()
    finally:
        stale.close()
    assert _starts_of("join") == ["stage.start.override"]


def test_reschedule_moves_successors_as_they_are_now(joined: str) -> None:
    """Rescheduling under the process lock plans from fresh rows: a successor moved meanwhile by another session
    is shifted from where it is now, not from where this session last saw it."""
    stale = Session(get_engine(), expire_on_commit=False)
    try:
        held = stages_of(stale, get_process(stale, P))
        stale.commit()
        with session_scope() as s:
            schedule.apply_reschedule(
                s, P, "join", actor=ACTOR, now=NOW, reason="room booked", start=date(2025, 2, 10), end=date(2025, 3, 10)
            )
        plan = schedule.apply_reschedule(stale, P, "left", actor=ACTOR, now=NOW, reason="late", end=date(2025, 2, 14))
        stale.commit()
    finally:
        stale.close()
    assert held[2].start_date == date(2025, 2, 15)
    (move,) = [m for m in plan.stages if m.key == "join"]
    assert (move.old_start, move.new_start, move.new_end) == (date(2025, 2, 10), date(2025, 2, 15), date(2025, 3, 15))
