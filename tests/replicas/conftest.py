"""A long-lived Prefect server for the replica tests, for the whole session: `prefect server start` on a free
loopback port, as deploy/up runs it (on SQLite here), from the server's own environment (deploy/prefect-server-env)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.replicas.fleet import PrefectServer, running_prefect_server


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with running_prefect_server(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server
