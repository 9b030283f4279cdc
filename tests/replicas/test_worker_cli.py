"""`consultrack worker` refuses, with one clear message and a non-zero exit, to run where it would do nothing useful:
with the service's own scheduler chosen, without a long-lived Prefect server, or when that server does not answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from notifications.mail.sink import free_port


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "CONSULTRACK_SCHEDULER is 'apscheduler'"),
        ({"CONSULTRACK_SCHEDULER": "prefect"}, "PREFECT_API_URL is not set"),
        ({"CONSULTRACK_SCHEDULER": "prefect", "PREFECT_API_URL": "http://127.0.0.1:{port}/api"}, "does not answer"),
    ],
)
def test_the_worker_refuses_clearly(data_dir: Path, settings: dict[str, str], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {k: v.format(port=free_port()) for k, v in settings.items()},
        CONSULTRACK_DATA_DIR=str(data_dir),
        PREFECT_HOME=str(data_dir / "prefect"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "consultrack", "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert message in done.stderr.replace("\n", " ")
    assert "Traceback" not in done.stderr
