"""Engines, sessions and migrations. SQLite in the data directory by default, any SQLAlchemy URL otherwise.

A statement waits at most `database_lock_wait_seconds` for a lock that another writer holds (SQLite's busy
timeout, PostgreSQL's lock_timeout). Then the driver's error becomes DatabaseBusy, here, for every caller at once
(`_busy_as_refusal`): the transaction is rolled back, so nothing is half-written; the API answers 503 with
Retry-After, a form, a sign-in and the CLI say "the database is busy, try again"."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, ExceptionContext, StaticPool, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from config.private_files import private_file, restrict
from config.settings import get_settings
from models.errors import DatabaseBusy

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
PG_LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a lock not granted within lock_timeout."""
DRY_RUN = "dry_run"
"""`Session.info` key of a dry run's session (dry_run_session): models.queries.lock_process then takes no lock."""
DRY_RUN_LOCK_WAIT_MS = 2000
"""How long a dry run on PostgreSQL waits for a row another writer holds: a preview is asked for interactively,
and it is better refused as busy than left waiting behind a long change."""


def _sqlite_pragmas(wait_ms: int) -> Callable[[Any, Any], None]:
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver so that SQLAlchemy's begin can say BEGIN IMMEDIATE (see _begin_immediate).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return pragmas


def is_busy(error: BaseException) -> bool:
    """Whether the driver gave up waiting for another writer's lock: SQLite's SQLITE_BUSY or SQLITE_LOCKED
    ("database is locked"), PostgreSQL's lock_not_available (lock_timeout)."""
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return getattr(error, "sqlstate", None) == PG_LOCK_NOT_AVAILABLE


def _busy_as_refusal(context: ExceptionContext) -> BaseException | None:
    """The one place where a lock waited on for too long becomes a refusal fit to show (DatabaseBusy), raised
    instead of the driver's error wherever the statement ran: a session, a bare connection, BEGIN IMMEDIATE."""
    return DatabaseBusy() if is_busy(context.original_exception) else None


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
    wait = get_settings().database_lock_wait_seconds
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": wait})
        event.listen(engine, "connect", _sqlite_pragmas(round(wait * 1000)))
        if not readonly:
            event.listen(engine, "begin", _begin_immediate)
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=10,
            connect_args={"options": f"-c lock_timeout={round(wait * 1000)}"},
        )
    event.listen(engine, "handle_error", _busy_as_refusal)
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


@contextmanager
def dry_run_session() -> Iterator[Session]:
    """A session whose changes are all rolled back: to show what a change would do (the reschedule preview)
    without holding up the writers meanwhile.

    On SQLite it works on a private in-memory copy of the database, taken from one read snapshot (in WAL mode a
    reader waits for no writer), so it neither takes nor waits for the write lock; the copy costs a few
    milliseconds per megabyte of database. On PostgreSQL it is a transaction on the database itself that takes no
    lock on the process (DRY_RUN) and waits at most DRY_RUN_LOCK_WAIT_MS for a row another writer holds."""
    engine = get_engine()
    with ExitStack() as stack:
        if engine.dialect.name == "sqlite":
            engine = stack.enter_context(_private_copy(get_engine(readonly=True)))
        session = stack.enter_context(Session(engine, expire_on_commit=False, info={DRY_RUN: True}))
        try:
            if engine.dialect.name == "postgresql":
                session.execute(text(f"SET LOCAL lock_timeout = {DRY_RUN_LOCK_WAIT_MS}"))
            yield session
        finally:
            session.rollback()


@contextmanager
def _private_copy(source: Engine) -> Iterator[Engine]:
    """An engine on an in-memory copy of the SQLite database behind `source`, gone when the block ends."""
    copy = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        reader = source.raw_connection()
        try:
            driver = reader.driver_connection
            assert isinstance(driver, sqlite3.Connection)  # `source` is a SQLite engine
            driver.backup(copy)
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise DatabaseBusy() from exc
            raise
        finally:
            reader.close()
        copy.execute("PRAGMA foreign_keys=ON")
        engine = create_engine("sqlite://", creator=lambda: copy, poolclass=StaticPool)
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        copy.close()


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
