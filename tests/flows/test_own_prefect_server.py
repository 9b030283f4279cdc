"""The service's own Prefect server (flows/prefect_server.py): started with a parent-death signal, recorded in the
Prefect home, found again, stopped; a temporary server of the same home that nobody owns any more is stopped by the
next start. Real uvicorn processes, looked at through /proc."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.prefect_processes import orphaned_prefect_server, parent_of, prefect_servers_of, wait_until

pytestmark = pytest.mark.slow


def test_start_find_stop_and_an_orphan_stopped_by_the_next_start(tmp_path: Path) -> None:
    from flows import prefect_server

    home = tmp_path / "prefect"
    home.mkdir(mode=0o700)
    orphan, _ = orphaned_prefect_server(home)
    if parent_of(orphan) != 1:
        pytest.skip("orphans are adopted by a subreaper here, not by init")
    bystander = tmp_path / "another-prefect-home"
    bystander.mkdir()
    other, _ = orphaned_prefect_server(bystander)  # another data directory's: none of this start's business
    try:
        server = prefect_server.start(home)
        try:
            assert wait_until(lambda: orphan not in prefect_servers_of(home), 15), "the orphan was left running"
            assert prefect_servers_of(home) == [server.pid]
            assert parent_of(server.pid) == os.getpid() and server.owner == os.getpid()
            assert prefect_server.find_running(home) == server
            assert stat.S_IMODE((home / "server.json").stat().st_mode) == 0o600
            assert other in prefect_servers_of(bystander)
        finally:
            prefect_server.stop(server)
        assert prefect_servers_of(home) == []
        assert prefect_server.find_running(home) is None and not (home / "server.json").exists()
    finally:
        os.kill(other, 15)
    assert wait_until(lambda: not prefect_servers_of(bystander), 15)
