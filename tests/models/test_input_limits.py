"""Input beyond reason, refused at every entry point of the command line and the rules with one line that says
where and why, and nothing stored: absurd dates (models/limits.py), control characters (models/text.py), files
that are not UTF-8 or hold impossible dates (models/yaml_source.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR
from models import lifecycle, meetings
from models.db import session_scope
from models.enums import MeetingStatus
from models.errors import InvalidInput
from models.gates import GateInputs
from tests.cli.test_cli import cli
from tests.conftest import ACTOR, NEASPEC, seoul
from tests.helpers import fingerprint

NEASPEC_YAML = PROCESS_TEMPLATES_DIR / f"{NEASPEC}.yaml"
AS_ACTOR = ["--actor", ACTOR]


def one_error(err: str) -> str:
    """The refusal as one line: a single 'error:', no traceback; returned with Rich's wrapping undone."""
    assert err.count("error:") == 1 and "Traceback" not in err, err
    return " ".join(err.split())


def template(
    tmp_path: Path,
    *,
    title: str = '"Strategic Plan"',
    short_name: str = "SP",
    stage_name: str = "Draft",
    start: str = "2025-03-01",
    end: str = "2025-03-31",
    second: tuple[str, str] | None = None,
) -> Path:
    text = (
        f"key: sp\ntitle: {title}\nshort_name: {short_name}\nstages:\n"
        f"  - key: draft\n    name: {stage_name}\n    activity: Write it\n"
        f"    window: {{start: {start}, end: {end}}}\n    owners: [secretariat]\n    gate: {{kind: manual}}\n"
    )
    if second:
        text += (
            f"  - key: adopt\n    name: Adopt\n    activity: Adopt it\n"
            f"    window: {{start: {second[0]}, end: {second[1]}}}\n    owners: [secretariat]\n"
            f"    gate: {{kind: manual}}\n    depends_on: [draft]\n"
        )
    path = tmp_path / "sp.yaml"
    path.write_text(text)
    return path


# -- templates -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"title": '"Strategic\\rATTENDEE:mailto:x@evil.example"'}, ":2: title: contains a carriage return (CR)"),
        ({"short_name": '"SP\\r\\nX-EVIL: 1"'}, ":3: short_name: contains a carriage return (CR)"),
        ({"stage_name": '"Draft\\vit"'}, ":6: stages.0.name: contains a vertical tab (VT)"),
        ({"title": '"Plan\\0"'}, ":2: title: contains a NUL character"),
    ],
)
def test_control_characters_in_a_template_are_refused(
    tmp_path: Path, data_dir: Path, fields: dict[str, str], says: str
) -> None:
    path = template(tmp_path, **fields)
    code, out, err = cli("template", "validate", str(path))
    assert code == 1 and "valid:" not in out
    assert f"{path}{says}" in one_error(err)


@pytest.mark.parametrize(
    ("window", "says"),
    [
        (
            ("0001-01-01", "0001-01-31"),
            ":8: stages.0.window.start: 0001-01-01 is too early: dates must lie between "
            "1 January 1990 and 31 December 2100",
        ),
        (("9999-01-01", "9999-12-31"), ":8: stages.0.window.start: 9999-01-01 is too late: dates must lie between"),
        (
            ("2025-03-01", "9999-12-31"),
            ":8: stages.0.window.end: 9999-12-31 is too late: the dates of this process "
            "(5 years before its first stage, 1 March 2025, to 15 years after) must lie "
            "between 1 March 2020 and 1 March 2040",
        ),
    ],
)
def test_templates_with_absurd_years_are_refused(
    tmp_path: Path, data_dir: Path, window: tuple[str, str], says: str
) -> None:
    path = template(tmp_path, start=window[0], end=window[1])
    code, _, err = cli("template", "validate", str(path))
    assert code == 1 and f"{path}{says}" in one_error(err)


def test_a_stage_far_from_the_first_is_refused(tmp_path: Path, data_dir: Path) -> None:
    path = template(tmp_path, second=("2041-01-01", "2041-01-31"))
    code, _, err = cli("template", "validate", str(path))
    assert code == 1 and f"{path}:14: stages.1.window.start: 2041-01-01 is too late" in one_error(err)
    assert cli("template", "validate", str(template(tmp_path, second=("2039-01-01", "2039-01-31"))))[0] == 0


# -- files that cannot be read -------------------------------------------------------------------------------------


def test_an_impossible_date_names_file_line_and_field(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "neaspec.yaml"
    shipped = NEASPEC_YAML.read_text()
    bad.write_text(shipped.replace("end: 2025-02-28}", "end: 2025-02-30}", 1))
    line = shipped[: shipped.index("end: 2025-02-28}")].count("\n") + 1
    code, _, err = cli("template", "validate", str(bad))
    assert code == 1
    assert one_error(err) == (
        f"error: {bad}:{line}: stages.1.window.end: 2025-02-30 is not a date (day is out of range for month)"
    )
    directory = tmp_path / "directory.yaml"
    directory.write_text(
        "member_states:\n  - {code: JP, name: Japan, timezone: Asia/Tokyo}\n"
        "  - {code: MN, name: 2025-02-30, timezone: Asia/Ulaanbaatar}\n"
    )
    code, _, err = cli("directory", "import", str(directory), *AS_ACTOR)
    assert code == 1 and f"{directory}:3: member_states.1.name: 2025-02-30 is not a date" in one_error(err)


@pytest.mark.parametrize("name", ["neaspec.yaml", "directory.yaml", "people.csv"])
def test_a_utf16_file_names_the_file_and_the_line(tmp_path: Path, data_dir: Path, name: str) -> None:
    source = {
        "neaspec.yaml": NEASPEC_YAML,
        "directory.yaml": DIRECTORY_SAMPLES_DIR / "sample.yaml",
        "people.csv": DIRECTORY_SAMPLES_DIR / "sample-people.csv",
    }[name]
    path = tmp_path / name
    path.write_bytes(source.read_text().encode("utf-16"))
    assert path.read_bytes()[:2] == b"\xff\xfe"
    command = ("template", "validate") if name == "neaspec.yaml" else ("directory", "import")
    before = fingerprint()
    code, _, err = cli(*command, str(path), *([] if name == "neaspec.yaml" else AS_ACTOR))
    assert code == 1
    assert one_error(err) == (
        f"error: {path}:1: the file is UTF-16 text (it starts with the bytes FF FE): save it as UTF-8"
    )
    assert fingerprint() == before


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"name,email,role\nA,a@example.org,stakeholder\nB\xe9,b@example.org,stakeholder\n")
    code, _, err = cli("directory", "import", str(path), *AS_ACTOR)
    assert code == 1 and f"{path}:3: byte E9 (column 2) is not UTF-8 text" in one_error(err)


# -- the directory -------------------------------------------------------------------------------------------------


def test_names_with_control_characters_are_refused(tmp_path: Path, data_dir: Path) -> None:
    assert cli("directory", "import", str(DIRECTORY_SAMPLES_DIR / "sample.yaml"), *AS_ACTOR)[0] == 0
    before = fingerprint()
    states = tmp_path / "states.yaml"
    states.write_text('member_states:\n  - {code: JP, name: "Ja\\vpan", timezone: Asia/Tokyo}\n')
    code, _, err = cli("directory", "import", str(states), *AS_ACTOR)
    assert code == 1 and f"{states}:2: member_states.0.name: contains a vertical tab (VT)" in one_error(err)
    people = tmp_path / "people.csv"
    people.write_text("name,email,role\nOlga,olga@example.org,stakeholder\nIvan\x0bX,ivan@example.org,stakeholder\n")
    code, _, err = cli("directory", "import", str(people), *AS_ACTOR)
    assert code == 1 and f"{people}:3: name: contains a vertical tab (VT)" in one_error(err)
    assert fingerprint() == before


# -- reschedules and dates given to the rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--start", "0001-01-01"), "--start: 0001-01-01 is too early: dates must lie between 1 January 1990"),
        (("--end", "9999-12-31"), "--end: 9999-12-31 is too late: dates must lie between"),
        (
            ("--end", "2045-06-30"),
            "the new end (2045-06-30) is too late: the dates of this process (5 years before "
            "its first stage, 13 December 2024, to 15 years after) must lie between "
            "13 December 2019 and 13 December 2039",
        ),
        (
            ("--end", "2039-12-01"),
            "Review of the draft by member States and stakeholders would follow and end on "
            "2040-01-01, which is too late",
        ),
    ],
)
@pytest.mark.parametrize("apply", [False, True])
def test_a_reschedule_beyond_reason_exits_2_and_changes_nothing(
    neaspec: str, args: tuple[str, ...], says: str, apply: bool
) -> None:
    before = fingerprint()
    more = ["--apply", "--reason", "typo", *AS_ACTOR] if apply else []
    code, out, err = cli("stage", "reschedule", "drafting", *args, *more)
    assert code == 2 and "Reschedule preview" not in out
    assert says in one_error(err)
    assert fingerprint() == before


def test_received_and_decision_dates_beyond_reason_are_refused(neaspec: str) -> None:
    with session_scope() as s:
        lifecycle.start_stage(s, NEASPEC, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-13 09:00"))
        meetings.set_meeting_status(
            s, NEASPEC, "som27-egm", MeetingStatus.HELD, actor=ACTOR, now=seoul("2024-12-16 08:00")
        )
        lifecycle.advance_stage(s, NEASPEC, "som27-kickoff", actor=ACTOR, now=seoul("2024-12-16 09:00"))
        lifecycle.open_ready_stages(s, NEASPEC, now=seoul("2025-01-01 09:00"))
        lifecycle.advance_stage(
            s,
            NEASPEC,
            "annotated-outline",
            actor=ACTOR,
            now=seoul("2025-03-03 09:00"),
            inputs=GateInputs(approver=ACTOR, note="final"),
        )
    before = fingerprint()
    with pytest.raises(InvalidInput, match=r"the date received \(0001-01-01\) is too early"), session_scope() as s:
        lifecycle.record_response(
            s, NEASPEC, "outline-feedback", "JP", received_on=date(1, 1, 1), actor=ACTOR, now=seoul("2025-03-20 09:00")
        )
    with pytest.raises(InvalidInput, match=r"the decision date \(9999-12-31\) is too late"), session_scope() as s:
        lifecycle.advance_stage(
            s,
            NEASPEC,
            "outline-feedback",
            actor=ACTOR,
            now=seoul("2025-03-20 09:00"),
            inputs=GateInputs(decision_text="agreed", decision_date=date(9999, 12, 31)),
            override_reason="test",
        )
    with pytest.raises(InvalidInput, match=r"the note contains a NUL character"), session_scope() as s:
        lifecycle.record_response(
            s,
            NEASPEC,
            "outline-feedback",
            "JP",
            received_on=date(2025, 3, 20),
            actor=ACTOR,
            now=seoul("2025-03-20 09:00"),
            note="fine\x00",
        )
    assert fingerprint() == before


def test_reminder_distances_beyond_a_year_are_refused(tmp_path: Path, data_dir: Path) -> None:
    """A reminder 100000 days before a deadline would be planned before any date there is (an OverflowError at the
    stage's start); the template is refused instead."""
    path = template(tmp_path)
    path.write_text(path.read_text() + "reminders: {before_days: [100000, 7]}\n")
    code, _, err = cli("template", "validate", str(path))
    assert code == 1 and f"{path}:11: reminders.before_days: before_days are between 0 and 366" in one_error(err)


def test_an_actor_with_control_characters_is_refused(neaspec: str) -> None:
    before = fingerprint()
    code, _, err = cli("stage", "skip", "drafting", "--reason", "not needed", "--actor", "minji\x00")
    assert code == 1 and "--actor contains a NUL character" in one_error(err)
    assert fingerprint() == before
