"""Alembic: the migrations build exactly the tables the models declare, and go down and up again cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import models.tables  # noqa: F401
from config.settings import get_settings
from models.db import alembic_config, get_engine, migrate


def test_migrations_match_the_models(data_dir: Path) -> None:
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_down_and_up_again(data_dir: Path) -> None:
    url = get_settings().sqlalchemy_url
    tables = set(inspect(get_engine()).get_table_names())
    assert {"process", "stage", "meeting", "response", "audit_entry", "reminder", "feed_token", "account"} <= tables
    command.downgrade(alembic_config(url), "base")
    get_engine().dispose()
    assert set(inspect(get_engine()).get_table_names()) <= {"alembic_version"}
    migrate(url)
    get_engine().dispose()
    assert set(inspect(get_engine()).get_table_names()) == tables


def test_the_deadline_in_the_reminder_key_goes_down_and_up_with_data(neaspec: str) -> None:
    """0005: a reminder re-armed for a later deadline shares the old four-column key; going down keeps the first
    of each key, going up again takes the rows as they are."""
    from datetime import UTC, date, datetime

    from sqlmodel import select

    from models.db import read_session, session_scope
    from models.directory import Person
    from models.process import Stage
    from models.reminder import Reminder

    at = datetime(2025, 3, 17, tzinfo=UTC)
    with session_scope() as s:
        stage, person = s.exec(select(Stage)).first(), s.exec(select(Person)).first()
        assert stage is not None and person is not None
        for due in (date(2025, 3, 31), date(2025, 4, 30)):
            s.add(
                Reminder(
                    stage_id=stage.id,
                    person_id=person.id,
                    rule="before",
                    occurrence=7,
                    offset_days=-7,
                    send_at=at,
                    due_date_seen=due,
                )
            )
    url = get_settings().sqlalchemy_url
    get_engine().dispose()
    command.downgrade(alembic_config(url), "0004")
    get_engine().dispose()
    with get_engine().connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql("SELECT due_date_seen FROM reminder")] == [("2025-03-31",)]
    migrate(url)
    get_engine().dispose()
    with read_session() as s:
        assert [r.due_date_seen for r in s.exec(select(Reminder)).all()] == [date(2025, 3, 31)]
    with session_scope() as s:  # the widened key is back: the later deadline's row fits again
        s.add(
            Reminder(
                stage_id=stage.id,
                person_id=person.id,
                rule="before",
                occurrence=7,
                offset_days=-7,
                send_at=at,
                due_date_seen=date(2025, 4, 30),
            )
        )


def test_the_client_of_a_refused_sign_in_goes_down_and_up_with_data(data_dir: Path) -> None:
    """0006: going down keeps the refused sign-ins (by username, as 0005 counted them) and drops their clients;
    going up again gives those an empty client (unknown: they count towards the username's ceiling only)."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from models.account import LoginFailure
    from models.db import read_session, session_scope

    at = datetime(2025, 3, 20, 0, 0, tzinfo=UTC)
    with session_scope() as s:
        s.add(LoginFailure(username="officer.one", client="203.0.113.7", at=at))
        s.add(LoginFailure(username="officer.one", client="2001:db8:1:2::/64", at=at))
    url = get_settings().sqlalchemy_url
    get_engine().dispose()
    command.downgrade(alembic_config(url), "0005")
    get_engine().dispose()
    assert "client" not in {c["name"] for c in inspect(get_engine()).get_columns("login_failure")}
    with get_engine().connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql("SELECT username FROM login_failure")] == [
            ("officer.one",),
            ("officer.one",),
        ]
    migrate(url)
    get_engine().dispose()
    with read_session() as s:
        assert [(f.username, f.client, f.at) for f in s.exec(select(LoginFailure).order_by(LoginFailure.id))] == [
            ("officer.one", "", at),
            ("officer.one", "", at),
        ]
    with session_scope() as s:
        s.add(LoginFailure(username="officer.one", client="198.51.100.20", at=at))
