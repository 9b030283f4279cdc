"""The demo replays the real history through the flows and stands where the README says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from consultrack.demo import build_demo
from models.db import read_session
from models.enums import StageState
from models.queries import get_process, stages_of
from models.status import process_status
from tests.conftest import seoul


@pytest.mark.usefixtures("prefect_server")
def test_demo_on_20_march_2025(data_dir: Path) -> None:
    lines: list[str] = []
    build_demo(date(2025, 3, 20), say=lines.append)
    with read_session() as s:
        process = get_process(s, "neaspec-sp-2026-2030")
        states = {st.key: st.state for st in stages_of(s, process)}
        status = process_status(s, process, seoul("2025-03-20 09:00"), date(2025, 3, 20))
    assert states["som27-kickoff"] is StageState.COMPLETED
    assert states["annotated-outline"] is StageState.COMPLETED
    assert states["outline-feedback"] is StageState.ACTIVE
    assert states["consultations"] is StageState.PLANNED
    assert sorted(status.responses["outline-feedback"]) == ["CN", "KR", "RU"]
    feedback = next(r for r in status.rows if r.stage.key == "outline-feedback")
    assert feedback.days_left == 11
    assert "Japan, Mongolia" in feedback.gate.summary
    assert any("response outline-feedback (RU)" in line for line in lines)
