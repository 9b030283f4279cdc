"""Fixtures: a real database per test (SQLite file; PostgreSQL too with CONSULTRACK_TEST_POSTGRES=1), the clock,
and one Prefect test server for the whole session."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import pytest

# Prefect reads its settings on import: point it at a throwaway home before anything imports it.
_PREFECT_HOME = tempfile.mkdtemp(prefix="consultrack-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
for _name in list(os.environ):
    if _name.startswith("CONSULTRACK_") and _name != "CONSULTRACK_TEST_POSTGRES":
        del os.environ[_name]
# A command-line change run without PREFECT_API_URL starts Prefect's temporary server and stops it, as each test
# expects: it keeps no server (200 MB each) for the next commands (flows/kept_server.py).
os.environ["CONSULTRACK_PREFECT_IDLE_SECONDS"] = "0"

from config import clock  # noqa: E402
from config.settings import DIRECTORY_SAMPLES_DIR, PROCESS_TEMPLATES_DIR, reset_settings  # noqa: E402

PG_ADMIN_URL = os.environ.get("CONSULTRACK_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
USE_POSTGRES = os.environ.get("CONSULTRACK_TEST_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgres"] if USE_POSTGRES else ["sqlite"]
NEASPEC = "neaspec-sp-2026-2030"
ACTOR = "minji.secretariat@example.org"


def missing_tool(reason: str) -> NoReturn:
    """A tool the suite needs is not installed: skipped on a developer's machine, a failure in CI (CI=true), where
    scripts/test installs everything and a silent skip would pass a run that checked nothing."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def seoul(text: str) -> datetime:
    """'2025-03-20 09:00' in Asia/Seoul, as an aware datetime."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Seoul"))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A PostgreSQL database migrated once; each test gets a copy (CREATE DATABASE ... TEMPLATE)."""
    if not USE_POSTGRES:
        yield None
        return
    from sqlalchemy import create_engine, text

    from models.db import migrate

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ct_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    from models.db import dispose_engines

    dispose_engines()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_template: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'consultrack.db'}"
        return
    from sqlalchemy import create_engine, text

    from models.db import dispose_engines

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ct_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def data_dir(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty, migrated database and data directory, with the settings pointing at them."""
    directory = tmp_path / "data"
    directory.mkdir(exist_ok=True)
    monkeypatch.setenv("CONSULTRACK_DATA_DIR", str(directory))
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("CONSULTRACK_DATABASE_URL", database_url)
    reset_settings()
    from models.db import migrate

    if database_url.startswith("sqlite"):
        migrate()
    yield directory
    clock.set_now(None)
    reset_settings()
    from models.db import dispose_engines

    dispose_engines()


@pytest.fixture
def neaspec(data_dir: Path) -> str:
    """The sample directory and the NEASPEC 2026-2030 process, loaded through the rules (no flows)."""
    from models.db import session_scope
    from models.directory_import import import_directory, read_directory
    from models.processes import create_process
    from models.template import load_template

    at = seoul("2024-12-01 09:00")
    with session_scope() as session:
        import_directory(
            session, read_directory(DIRECTORY_SAMPLES_DIR / "sample.yaml"), source="sample", actor=ACTOR, now=at
        )
        create_process(session, load_template(PROCESS_TEMPLATES_DIR / f"{NEASPEC}.yaml"), actor=ACTOR, now=at)
    return NEASPEC


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One Prefect test server for the session (~10 s once, then ~0.2 s a flow)."""
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (sets Prefect's settings before Prefect is imported)

    with prefect_test_harness(server_startup_timeout=120):
        yield
