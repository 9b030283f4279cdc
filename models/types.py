"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Table, inspect
from sqlalchemy import Enum as SAEnum
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants as naive UTC (SQLite has no zones) and hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def enum_column(enum: type[StrEnum], *, default: StrEnum | None = None, index: bool = False) -> Column[Any]:
    """A plain VARCHAR holding the enum's value ("active", not "ACTIVE"): readable in SQL, no native types."""
    return Column(
        SAEnum(enum, native_enum=False, length=32, values_callable=lambda members: [m.value for m in members]),
        nullable=False,
        default=default,
        index=index,
    )


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for the bulk statements the ORM would make slow (SQLModel sets
    `__table__` but does not declare it to type checkers)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table
