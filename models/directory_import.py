"""Importing the directory from YAML or CSV: validated whole, then written in one transaction or not at all."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import bindparam
from sqlmodel import Session, select

from models.audit import record
from models.directory import MemberState, Person
from models.email_address import normalized_address
from models.enums import Role
from models.errors import InvalidInput
from models.template import check_timezone
from models.text import plain
from models.types import table_of
from models.yaml_source import load_yaml, read_utf8, validate


def one_line_name(name: str) -> str:
    return plain(name).strip()


class MemberStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[A-Z]{2}$")
    name: str = Field(min_length=1)
    timezone: str
    name_in_text: str = Field(default="", max_length=200)
    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))
    _one_line = field_validator("name", "name_in_text")(classmethod(lambda cls, v: one_line_name(v)))

    @model_validator(mode="after")
    def _name_in_text_ends_with_the_name(self) -> MemberStateIn:
        if self.name_in_text and not self.name_in_text.endswith(self.name):
            raise ValueError(
                f"name_in_text {self.name_in_text!r} must end with the name {self.name!r} "
                "(the name with its article, such as 'the Russian Federation')"
            )
        return self


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str
    role: Role
    member_state: str | None = None
    timezone: str | None = None
    language: str | None = None

    _one_line = field_validator("name")(classmethod(lambda cls, v: one_line_name(v)))
    _plain = field_validator("language")(classmethod(lambda cls, v: v if v is None else plain(v)))

    @field_validator("email")
    @classmethod
    def _email(cls, email: str) -> str:
        """The one place an address is normalised: lowercase whole, so that one person is one row whatever case
        a file uses (the local part is case-insensitive at every mail host we deal with)."""
        try:
            return normalized_address(email.strip())
        except EmailNotValidError as exc:
            raise ValueError(f"invalid e-mail address {email!r}: {exc}") from exc

    @field_validator("timezone")
    @classmethod
    def _tz(cls, tz: str | None) -> str | None:
        return check_timezone(tz) if tz else None

    @field_validator("member_state", "language", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value


class DirectoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_states: list[MemberStateIn] = Field(default_factory=list)
    people: list[PersonIn] = Field(default_factory=list)


def read_directory(path: Path) -> DirectoryIn:
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    data, node = load_yaml(path)
    return validate(DirectoryIn, data, node, path)


def _read_csv(path: Path) -> DirectoryIn:
    reader = csv.DictReader(io.StringIO(read_utf8(path), newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"{path}:{reader.line_num}: malformed CSV: {exc}") from exc
    required = {"name", "email", "role"}
    if not rows or not required <= set(rows[0]):
        raise InvalidInput(f"{path}:1: the header needs the columns {', '.join(sorted(required))}")
    people = []
    for number, row in enumerate(rows, start=2):
        if None in row:
            raise InvalidInput(f"{path}:{number}: more fields than the header has")
        try:
            people.append(PersonIn.model_validate({k: v for k, v in row.items() if k}))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"{path}:{number}: {field}: {first['msg'].removeprefix('Value error, ')}") from exc
    return DirectoryIn(people=people)


def import_directory(session: Session, directory: DirectoryIn, *, source: str, actor: str, now: Any) -> dict[str, int]:
    """Check the whole file against itself and the database, then upsert by code and e-mail address."""
    codes = [m.code for m in directory.member_states]
    if len(codes) != len(set(codes)):
        raise InvalidInput(f"{source}: member State {_first_dup(codes)} is listed twice")
    emails = [p.email for p in directory.people]  # normalised to lowercase by PersonIn
    if len(emails) != len(set(emails)):
        raise InvalidInput(f"{source}: {_first_dup(emails)} is listed twice")
    known = {m.code for m in session.exec(select(MemberState)).all()} | set(codes)
    for person in directory.people:
        if person.member_state is not None and person.member_state not in known:
            raise InvalidInput(f"{source}: {person.email}: unknown member State {person.member_state!r}")
        if person.role in (Role.FOCAL_POINT, Role.ALTERNATE_FOCAL_POINT) and person.member_state is None:
            raise InvalidInput(f"{source}: {person.email}: a {person.role.value} belongs to a member State")

    added = updated = 0
    for state in directory.member_states:
        row = session.get(MemberState, state.code)
        if row is None:
            session.add(MemberState(**state.model_dump()))
            added += 1
        else:
            row.name, row.timezone, row.name_in_text = state.name, state.timezone, state.name_in_text
            updated += 1
    session.flush()
    people_added, people_updated = _upsert_people(session, directory.people)
    added, updated = added + people_added, updated + people_updated
    record(
        session,
        at=now,
        actor=actor,
        action="directory.import",
        after={"source": source, "added": added, "updated": updated},
    )
    return {"added": added, "updated": updated}


_COLUMNS = ("name", "email", "role", "member_state_code", "timezone", "language")
"""What a directory file sets of a person, in the order `_upsert_people` compares them."""


def _upsert_people(session: Session, people: list[PersonIn]) -> tuple[int, int]:
    """Add or update every person by e-mail address, case-insensitively, so that a row stored with capitals
    before addresses were normalised is updated (and its address lowercased) rather than duplicated; an exact
    match wins over a case-only one, else the oldest row. Who is there is read once, into a dict, and the rows
    are written in two statements (each row a parameter set), never a query per person: a large directory
    costs the same per row as a small one."""
    # Core statements on the session's connection (one executemany each): the ORM's bulk paths cost three times
    # as much a row.
    table, connection = table_of(Person), session.connection()
    stored: dict[str, Any] = {}
    for row in connection.execute(select(table.c.id, *(table.c[name] for name in _COLUMNS)).order_by(table.c.id)):
        key = row.email.lower()
        if key not in stored or (row.email == key and stored[key].email != key):
            stored[key] = row
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    updated = 0
    for person in people:
        fields = (person.name, person.email, person.role, person.member_state, person.timezone, person.language)
        existing = stored.get(person.email)
        if existing is None:
            new.append(dict(zip(_COLUMNS, fields, strict=True), active=True))
            continue
        updated += 1
        if tuple(existing[1:]) != fields:
            changed.append(dict(zip(_COLUMNS, fields, strict=True), row_id=existing.id))
    if new:
        connection.execute(table.insert(), new)
    if changed:
        connection.execute(
            table.update()
            .where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(name) for name in _COLUMNS}),
            changed,
        )
        for held in [o for o in session.identity_map.values() if isinstance(o, Person)]:
            session.expire(held)  # what this session already held is read again when next used
    return len(new), updated


def _first_dup(items: list[str]) -> str:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return ""
