"""The secretariat's command line, in-process against a real database and the Prefect test server."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR
from consultrack.cli import app, common
from models import lifecycle
from models.db import session_scope
from tests.conftest import seoul
from tests.helpers import fingerprint, record_held

pytestmark = pytest.mark.usefixtures("prefect_server")
ACTOR = ["--actor", "minji.secretariat@example.org"]


def cli(*args: str, now: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if now and monkeypatch:
        from config.settings import reset_settings

        monkeypatch.setenv("CONSULTRACK_NOW", now)
        reset_settings()
    common.console.width = 260  # wide enough that no table cell wraps
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_secretariat_day(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli("init", "--sample", *ACTOR, now="2024-12-13T09:00:00+09:00", monkeypatch=monkeypatch)
    assert code == 0 and "process neaspec-sp-2026-2030 created with 9 stages" in out
    assert cli("stage", "start", "som27-kickoff", *ACTOR)[0] == 0
    record_held("neaspec-sp-2026-2030", "som27-egm", seoul("2024-12-16 08:00"))
    code, out, _ = cli(
        "stage", "advance", "som27-kickoff", *ACTOR, now="2024-12-16T09:00:00+09:00", monkeypatch=monkeypatch
    )
    assert code == 0 and "som27-kickoff completed" in out and "annotated-outline started" not in out
    with session_scope() as session:  # the sweep's part: annotated-outline opens with its window on 1 January
        lifecycle.open_ready_stages(session, "neaspec-sp-2026-2030", now=seoul("2025-01-01 09:00"))
    code, _, err = cli(
        "stage", "advance", "annotated-outline", *ACTOR, now="2025-03-03T10:00:00+09:00", monkeypatch=monkeypatch
    )
    assert code == 1 and "needs approval by a member of the secretariat" in err
    code, out, _ = cli(
        "stage",
        "advance",
        "annotated-outline",
        "--approver",
        "minji.secretariat@example.org",
        "--note",
        "Outline final",
        *ACTOR,
    )
    assert code == 0 and "outline-feedback started" in out
    code, out, _ = cli(
        "response", "record", "outline-feedback", "Japan", "--received", "2025-03-03", "--channel", "letter", *ACTOR
    )
    assert code == 0 and "response from JP" in out

    code, out, _ = cli("stage", "reschedule", "outline-feedback", "--end", "2025-04-14")
    assert code == 0 and "preview only" in out and "consultations" in out
    code, _, err = cli("stage", "reschedule", "outline-feedback", "--end", "2025-04-14", "--apply")
    assert code == 2 and "--reason is required" in err
    code, out, _ = cli(
        "stage",
        "reschedule",
        "outline-feedback",
        "--end",
        "2025-04-14",
        "--apply",
        "--reason",
        "NFPs asked for two weeks",
        *ACTOR,
    )
    assert code == 0 and "rescheduled: outline-feedback, consultations" in out

    code, out, _ = cli("status", now="2025-03-20T09:00:00+09:00", monkeypatch=monkeypatch)
    assert code == 0
    assert "waiting for responses" in out
    (matrix_row,) = [line for line in out.splitlines() if line.startswith("│ outline-feedback")]
    cells = [c.strip() for c in matrix_row.strip("│").split("│")]
    assert cells == ["outline-feedback", "waiting", "waiting", "yes 03 Mar", "waiting", "waiting", "waiting"]
    assert "25 days left" in out  # to 14 April
    assert "(to be confirmed)" in out
    code, out, _ = cli("audit", "--stage", "outline-feedback")
    assert code == 0 and "stage.reschedule" in out and "NFPs asked for two weeks" in out and "response.record" in out

    code, _, err = cli("response", "correct", "outline-feedback", "Japan", "--channel", "diplomatic note", *ACTOR)
    assert code == 2 and "--reason" in err
    fix = ["--channel", "diplomatic note", "--reason", "It came by note"]
    code, out, _ = cli("response", "correct", "outline-feedback", "Japan", *fix)
    assert code == 0 and "corrected: received 2025-03-03 by diplomatic note" in out
    code, out, _ = cli("response", "withdraw", "outline-feedback", "JP", "--reason", "Sent to the wrong secretariat")
    assert code == 0 and "withdrawn; its reminders resume" in out
    code, out, _ = cli("audit", "--action", "response.")
    assert "response.withdraw" in out and "Sent to the wrong secretariat" in out and "It came by note" in out


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("stage", "advance", "nonexistent"), 1, "unknown stage 'nonexistent'"),
        (("stage", "start", "drafting"), 1, "cannot start drafting: it depends on consultations (planned)"),
        (("stage", "skip", "drafting", "--reason", ""), 1, "a reason to skip a stage is required"),
        (("response", "record", "outline-feedback", "Atlantis"), 1, "unknown member State 'Atlantis'"),
        (("response", "record", "outline-feedback", "JP", "--received", "20-03-2025"), 2, "is not a date"),
        (("stage", "reschedule", "drafting", "--end", "2025-13-40"), 2, "is not a date"),
        (("status", "--process", "nope"), 1, "unknown process 'nope'"),
        (("meeting", "invite", "nope"), 1, "unknown meeting 'nope'"),
    ],
)
def test_bad_commands_say_why_and_change_nothing(neaspec: str, args: tuple[str, ...], code: int, says: str) -> None:
    before = fingerprint()
    exit_code, _, err = cli(*args, *ACTOR) if args[0] != "status" else cli(*args)
    assert exit_code == code
    assert says in " ".join(err.split())
    assert "Traceback" not in err
    assert fingerprint() == before


def test_template_validate(tmp_path: Path, data_dir: Path) -> None:
    code, out, _ = cli("template", "validate", str(PROCESS_TEMPLATES_DIR / "neaspec-sp-2026-2030.yaml"))
    assert code == 0 and "9 stages, 3 meetings" in out
    bad = tmp_path / "t.yaml"
    bad.write_text("key: x\ntitle: t\nshort_name: s\nstages: []\n")
    code, _, err = cli("template", "validate", str(bad))
    assert code == 1 and f"{bad}:4: stages:" in err


def test_directory_import_all_or_nothing(data_dir: Path, tmp_path: Path) -> None:
    assert cli("directory", "import", str(DIRECTORY_SAMPLES_DIR / "sample.yaml"), *ACTOR)[0] == 0
    before = fingerprint()
    bad = tmp_path / "p.csv"
    bad.write_text("name,email,role,member_state\nA,a@example.org,focal_point,JP\nB,b@,focal_point,JP\n")
    code, _, err = cli("directory", "import", str(bad), *ACTOR)
    assert code == 1 and ":3: email: invalid e-mail address" in err
    assert fingerprint() == before


def _person_count() -> int:
    from sqlalchemy import func, select

    from models.db import read_session
    from models.directory import Person

    with read_session() as s:
        return s.scalar(select(func.count()).select_from(Person)) or 0


def test_init_with_a_bad_template_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    """The directory is valid, the template is not: neither is written (the directory used to be committed)."""
    before = fingerprint()
    bad = tmp_path / "cycle.yaml"
    text = (PROCESS_TEMPLATES_DIR / "neaspec-sp-2026-2030.yaml").read_text()
    bad.write_text(text.replace("depends_on: [som27-kickoff]", "depends_on: [som27-kickoff, revision]", 1))
    code, out, err = cli(
        "init", "--template", str(bad), "--directory", str(DIRECTORY_SAMPLES_DIR / "sample.yaml"), *ACTOR
    )
    assert code == 1
    assert err.count("error:") == 1 and f"{bad}:41: stages.1.depends_on.1: dependency cycle" in " ".join(err.split())
    assert "directory imported" not in out and "Traceback" not in err
    assert fingerprint() == before
    assert _person_count() == 0


def test_init_refused_by_the_database_writes_nothing(data_dir: Path) -> None:
    """Both files are valid but the process exists already: the directory is not imported either."""
    assert cli("init", "--template", str(PROCESS_TEMPLATES_DIR / "neaspec-sp-2026-2030.yaml"), *ACTOR)[0] == 0
    before = fingerprint()
    code, out, err = cli("init", "--sample", *ACTOR)
    assert code == 1
    assert err.count("error:") == 1 and "process 'neaspec-sp-2026-2030' exists already" in err
    assert "directory imported" not in out
    assert fingerprint() == before
    assert _person_count() == 0


def test_inviting_nobody_exits_2_and_writes_nothing(neaspec: str) -> None:
    from sqlmodel import select

    from models.db import session_scope
    from models.directory import Person
    from models.process import Meeting

    with session_scope() as session:
        session.exec(select(Meeting).where(Meeting.key == "nfp-2025-04")).one().attendees = ["stakeholders"]
        for person in session.exec(select(Person).where(Person.role == "stakeholder")).all():
            person.active = False
    before = fingerprint()
    code, _, err = cli("meeting", "invite", "nfp-2025-04", *ACTOR)
    assert code == 2 and "Traceback" not in err
    assert "participants: Meeting of NEASPEC National Focal Points invites nobody" in " ".join(err.split())
    assert fingerprint() == before
