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
