"""`consultrack meeting`: meetings on their own, in-process against a real database and the Prefect test server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import ACTOR, cli
from tests.helpers import fingerprint

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_move_a_meeting_and_the_bad_input_that_writes_nothing(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("init", "--sample", *ACTOR, now="2025-03-20T09:00:00+09:00", monkeypatch=monkeypatch)[0] == 0
    code, out, _ = cli("meeting", "list")
    assert code == 0 and "SOM-28" in out and "to be confirmed" in out and "10 April 2025, 15:00-18:00" in out

    before = fingerprint()
    refusals = [
        (["move", "nfp-2025-04x", "--date", "2025-04-25"], "unknown meeting 'nfp-2025-04x'"),
        (["move", "nfp-2025-04", "--start", "18:00", "--end", "15:00"], "end time: the meeting ends (15:00) before"),
        (["move", "nfp-2025-04", "--zone", "Asia/Atlantis"], "time zone: unknown time zone 'Asia/Atlantis'"),
        (["move", "nfp-2025-04", "--date", "2030-04-25"], "outside every stage of the process"),
        (["move", "nfp-2025-04", "--date", "2025-05-12"], "it falls in \u201cDraft strategic plan\u201d"),
        (["edit", "nfp-2025-04", "--online-link", "http://meet.example.org/x"], "online link: 'http://meet"),
        (["held", "nfp-2025-04"], "has not started yet"),
        (["attendance", "nfp-2025-04", "JP"], "'JP' is not STATE=registered|attended|apologies"),
        (["attendance", "nfp-2025-04", "JP=maybe"], "Japan: 'maybe' is not one of"),
    ]
    for args, says in refusals:
        code, _, err = cli("meeting", *args, *ACTOR)
        assert code == 2 and says in " ".join(err.split()), (args, err)
    assert fingerprint() == before

    code, out, _ = cli("meeting", "attendance", "nfp-2025-04", "JP=registered", "MN=registered", *ACTOR)
    assert code == 0 and "attendance at Meeting of NEASPEC National Focal Points recorded" in out
    code, out, _ = cli("meeting", "move", "nfp-2025-04", "--date", "2025-04-25", "--reason", "NFPs asked", *ACTOR)
    assert code == 0 and "25 April 2025, 15:00-18:00 (Asia/Seoul)" in out
    assert cli("meeting", "cancel", "nfp-2025-04", "--reason", "merged", *ACTOR)[0] == 0
    code, _, err = cli("meeting", "move", "nfp-2025-04", "--date", "2025-04-26", *ACTOR)
    assert code == 2 and "a cancelled meeting cannot be moved" in err
    code, out, _ = cli("audit")
    assert "meeting.move" in out
