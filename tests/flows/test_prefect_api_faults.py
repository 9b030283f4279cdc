"""The Prefect API failing around a run, through a real proxy in front of the Prefect test server: a conflict (409)
or a lost connection while the run is being created is tried again, and the change is applied exactly once; a
failure after the flow's body began is never retried; what persists reaches the CLI as one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import func, select

from config.settings import DIRECTORY_SAMPLES_DIR
from notifications.mail.sink import free_port
from tests.helpers import fingerprint
from tests.prefect_proxy import prefect_proxy

pytestmark = pytest.mark.usefixtures("prefect_server")
SAMPLE = DIRECTORY_SAMPLES_DIR / "sample.yaml"
CREATE = ("POST", "/flow_runs/")


def imports_audited() -> int:
    from models.audit import AuditEntry
    from models.db import read_session

    with read_session() as session:
        return int(
            session.exec(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "directory.import")
            ).one()
        )


def harness_api() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


def test_a_conflict_while_the_run_is_created_is_retried_and_the_change_applied_once(data_dir: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import setup
    from flows.engine import run

    def first_creation_conflicts(method: str, path: str, earlier: int) -> int | None:
        return 409 if (method, path) == CREATE and earlier == 0 else None

    with (
        prefect_proxy(harness_api(), first_creation_conflicts) as (proxy, url),
        temporary_settings(updates={PREFECT_API_URL: url}),
    ):
        counts = run(setup.import_directory_file, path=SAMPLE, actor="test")
    assert counts["added"] > 0
    assert proxy.answered == [("POST", "/flow_runs/", 409)] and proxy.seen[CREATE] == 2
    assert imports_audited() == 1


def test_a_failure_after_the_body_began_is_reported_and_never_retried(data_dir: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import setup
    from flows.engine import PrefectUnavailable, run

    def completion_conflicts(method: str, path: str, earlier: int) -> int | None:
        # The run's states: Running (the body begins), then Completed: that one is refused.
        return 409 if method == "POST" and path.endswith("/set_state") and earlier == 1 else None

    with (
        prefect_proxy(harness_api(), completion_conflicts) as (proxy, url),
        temporary_settings(updates={PREFECT_API_URL: url}),
        pytest.raises(PrefectUnavailable) as refused,
    ):
        run(setup.import_directory_file, path=SAMPLE, actor="test")
    assert refused.value.message == (
        "the Prefect API failed while 'import directory from sample.yaml' ran (it answered 409 Conflict): the change "
        "may have been saved; check 'consultrack audit' before trying again"
    )
    assert proxy.seen[CREATE] == 1 and len(proxy.answered) == 1
    assert imports_audited() == 1


def cli(*args: str, api: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": api}
    return subprocess.run(
        [sys.executable, "-m", "consultrack", *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_the_cli_says_in_one_line_when_the_prefect_api_keeps_refusing(data_dir: Path) -> None:
    before = fingerprint()

    def creation_always_conflicts(method: str, path: str, earlier: int) -> int | None:
        return 409 if (method, path) == CREATE else None

    with prefect_proxy(harness_api(), creation_always_conflicts) as (proxy, url):
        refused = cli("directory", "import", str(SAMPLE), "--actor", "test", api=url)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == (
        "error: the Prefect API refused to start 'import directory from sample.yaml' (it "
        "answered 409 Conflict): nothing was changed; try again\n"
    )
    assert proxy.seen[CREATE] == 4  # the first try and three more

    unreachable = cli("directory", "import", str(SAMPLE), "--actor", "test", api=f"http://127.0.0.1:{free_port()}/api")
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.splitlines() == [
        "error: the Prefect API refused to start 'import directory from "
        "sample.yaml' (it could not be reached): nothing was changed; try again"
    ]
    assert fingerprint() == before and imports_audited() == 0
