"""Engines, sessions and migrations. SQLite in the data directory by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from config.private_files import private_file, restrict
from config.settings import get_settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver so that SQLAlchemy's begin can say BEGIN IMMEDIATE (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """Writers take SQLite's write lock when their transaction begins, so a read-then-write never deadlocks
    and two secretariat users changing one stage are serialised: the second sees the first's result."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _owner_only(engine: Engine) -> None:
    """A SQLite file is created owner-only (it holds password hashes, token digests and personal data), or
    tightened if an older version made it, before each connection opens it: SQLite then gives its -wal and -shm
    files the same mode. Checked at every connect, not once, as the demo deletes and recreates the file."""
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database.startswith((":memory:", "file:")):
        return
    path = Path(database)

    def before_connect(*_: Any) -> None:
        private_file(path)
        for companion in ("-wal", "-shm"):
            restrict(path.with_name(path.name + companion))

    event.listen(engine, "do_connect", before_connect)


_engines: dict[tuple[str, bool], Engine] = {}


def engine_for(url: str, *, readonly: bool = False) -> Engine:
    """One engine per URL and purpose. On SQLite, readers begin deferred and never queue behind writers."""
    key = (url, readonly)
    if key in _engines:
        return _engines[key]
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        if not readonly:
            event.listen(engine, "begin", _begin_immediate)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    _owner_only(engine)
    return _engines.setdefault(key, engine)


def dispose_engines() -> None:
    """Close every pooled connection (before a database file is removed, and at shutdown)."""
    for engine in _engines.values():
        engine.dispose()


def get_engine(*, readonly: bool = False) -> Engine:
    return engine_for(get_settings().sqlalchemy_url, readonly=readonly)


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for pages, feeds and reports; it must not write."""
    with Session(get_engine(readonly=True), expire_on_commit=False) as session:
        yield session


@contextmanager
def session_scope() -> Iterator[Session]:
    """One write transaction: committed when the block ends, rolled back entirely when it raises."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic costs 0.4 s to import; only migrations need it

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().sqlalchemy_url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision`; every table is created by a migration, never by create_all."""
    from alembic import command  # noqa: PLC0415

    command.upgrade(alembic_config(url), revision)
