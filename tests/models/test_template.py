"""Templates: Table 1 of NEASPEC/SOM(27)/7 as data, and every malformed template refused with file, line, field."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from config.settings import PROCESS_TEMPLATES_DIR
from models.enums import GateKind, Owner
from models.errors import InvalidInput
from models.template import find_cycle, load_template

NEASPEC_FILE = PROCESS_TEMPLATES_DIR / "neaspec-sp-2026-2030.yaml"


def test_neaspec_template_is_table_1() -> None:
    t = load_template(NEASPEC_FILE)
    windows = [(s.key, s.window.start, s.window.end) for s in t.stages]
    assert windows == [
        ("som27-kickoff", date(2024, 12, 13), date(2024, 12, 13)),
        ("annotated-outline", date(2025, 1, 1), date(2025, 2, 28)),
        ("outline-feedback", date(2025, 3, 1), date(2025, 3, 31)),
        ("consultations", date(2025, 4, 1), date(2025, 4, 30)),
        ("drafting", date(2025, 5, 1), date(2025, 6, 30)),
        ("draft-review", date(2025, 7, 1), date(2025, 7, 31)),
        ("revision", date(2025, 8, 1), date(2025, 8, 31)),
        ("final-nfp-meeting", date(2025, 9, 1), date(2025, 10, 31)),
        ("som28-adoption", date(2025, 11, 1), date(2025, 12, 31)),
    ]
    by_key = {s.key: s for s in t.stages}
    assert "through National Focal Points" in by_key["outline-feedback"].activity
    assert set(by_key["draft-review"].owners) == {Owner.MEMBER_STATES, Owner.STAKEHOLDERS}
    assert by_key["som28-adoption"].tentative and not by_key["drafting"].tentative
    assert by_key["som28-adoption"].gate.kind is GateKind.DECISION_RECORDED
    assert by_key["outline-feedback"].gate.kind is GateKind.RESPONSES
    (nfp,) = by_key["consultations"].meetings
    assert (nfp.date, nfp.start, nfp.end, nfp.timezone, nfp.virtual) == (
        date(2025, 4, 10),
        time(15),
        time(18),
        "Asia/Seoul",
        True,
    )
    assert "subject to member States' guidance" in t.source


def test_every_shipped_template_is_valid() -> None:
    keys = {load_template(p).key for p in PROCESS_TEMPLATES_DIR.glob("*.yaml")}
    assert {"neaspec-sp-2026-2030", "neaspec-sp-2021-2025"} <= keys


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = NEASPEC_FILE.read_text()
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, fragment: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def _last_line_of(path: Path, fragment: str) -> int:
    return [i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line][-1]


@pytest.mark.parametrize(
    ("old", "new", "field", "says"),
    [
        (
            "window: {start: 2025-03-01, end: 2025-03-31}",
            "window: {start: 2025-03-31, end: 2025-03-01}",
            "stages.2.window",
            "before it starts",
        ),
        (
            "owners: [secretariat]\n    gate: {kind: manual}\n    depends_on: [som27-kickoff]",
            "owners: [secretariat, ministers]\n    gate: {kind: manual}\n    depends_on: [som27-kickoff]",
            "stages.1.owners.1",
            "Input should be",
        ),
        (
            "gate: {kind: responses}\n    depends_on: [annotated-outline]",
            "gate: {kind: vote}\n    depends_on: [annotated-outline]",
            "stages.2.gate.kind",
            "Input should be",
        ),
        (
            "        timezone: Asia/Seoul\n        location: Virtual meeting",
            "        timezone: Asia/Incheon\n        location: Virtual meeting",
            "stages.3.meetings.0.timezone",
            "unknown time zone",
        ),
        # Checks across stages point at the stage and field at fault, not at the `stages:` line.
        (
            "depends_on: [drafting]",
            "depends_on: [drafting-stage]",
            "stages.5.depends_on.0",
            "unknown stage 'drafting-stage'",
        ),
        (
            "depends_on: [som27-kickoff]",
            "depends_on: [som27-kickoff, revision]",
            "stages.1.depends_on.1",
            "dependency cycle: annotated-outline -> revision",
        ),
        (
            "window: {start: 2025-04-01, end: 2025-04-30}",
            "window: {start: 2025-03-20, end: 2025-04-30}",
            "stages.3.window.start",
            "starts 2025-03-20, before 'outline-feedback' ends 2025-03-31",
        ),
        ("  - key: drafting\n", "  - key: consultations\n", "stages.4.key", "stage key 'consultations' appears twice"),
        (
            "    gate: {kind: manual}\n    depends_on: [consultations]",
            "    due: 2025-07-10\n    gate: {kind: manual}\n    depends_on: [consultations]",
            "stages.4.due",
            "outside the window",
        ),
        (
            "gate: {kind: meeting_held, meeting: nfp-2025-04}",
            "gate: {kind: meeting_held, meeting: nfp-april}",
            "stages.3.gate.meeting",
            "'nfp-april' is not one of this stage's meetings",
        ),
        (
            '        end: "18:00"',
            '        end: "14:00"',
            "stages.3.meetings.0.end",
            "the meeting ends before it starts",
        ),
        # A key given twice in one mapping: PyYAML would keep the second silently.
        (
            "    window: {start: 2025-05-01, end: 2025-06-30}\n",
            "    window: {start: 2025-05-01, end: 2025-06-30}\n    window: {start: 2025-05-15, end: 2025-06-30}\n",
            "stages.4.window",
            "duplicate key 'window' (already given on line 76)",
        ),
    ],
)
def test_bad_template_names_file_line_and_field(tmp_path: Path, old: str, new: str, field: str, says: str) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(InvalidInput) as err:
        load_template(path)
    message = err.value.message
    assert message.startswith(f"{path}:")
    assert f": {field}: " in message
    assert says in message
    # The exact line: the one the replacement put there (the second `window:` for the duplicate key).
    at = new.splitlines()[1 if "duplicate key" in says else 0].strip()
    assert int(message.split(":")[1]) == _last_line_of(path, at)


def test_dates_out_of_order_point_at_the_window_line(tmp_path: Path) -> None:
    path = _broken(
        tmp_path, "window: {start: 2025-03-01, end: 2025-03-31}", "window: {start: 2025-03-31, end: 2025-03-01}"
    )
    with pytest.raises(InvalidInput) as err:
        load_template(path)
    assert err.value.message.startswith(f"{path}:{_line_of(path, 'start: 2025-03-31')}: stages.2.window")


def test_cycle_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, "depends_on: [som27-kickoff]", "depends_on: [som27-kickoff, revision]")
    with pytest.raises(InvalidInput, match="dependency cycle: annotated-outline -> revision"):
        load_template(path)


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("key: x\nstages:\n  - key: [unclosed\n")
    with pytest.raises(InvalidInput, match=rf"^{path}:\d+: malformed YAML"):
        load_template(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        load_template(tmp_path / "nope.yaml")
