"""Large directory imports: what the bulk upsert must keep from the row-by-row one. Every person matched by
e-mail address case-insensitively (an exact-case row first, else the oldest), all rows or none, and an error
that names the file, the line and the field however far down the file it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from models.db import read_session, session_scope
from models.directory import MemberState, Person
from models.directory_import import import_directory, read_directory
from models.enums import Role
from models.errors import InvalidInput
from tests.conftest import ACTOR, seoul
from tests.helpers import fingerprint

ROWS = 6000
HEADER = "name,email,role,member_state,timezone,language\n"


def _import(path: Path) -> dict[str, int]:
    with session_scope() as session:
        return import_directory(
            session, read_directory(path), source=str(path), actor=ACTOR, now=seoul("2025-01-01 09:00")
        )


def _people(count: int, *, prefix: str = "Person") -> list[str]:
    return [
        f"{prefix} {n},person.{n}@example.org,{'som_delegate' if n % 3 else 'stakeholder'},{'KR' if n % 3 else ''},,\n"
        for n in range(count)
    ]


def _states() -> None:
    with session_scope() as s:
        s.add(MemberState(code="KR", name="Republic of Korea", timezone="Asia/Seoul"))


def test_a_large_file_upserts_case_insensitively_exact_case_first(data_dir: Path, tmp_path: Path) -> None:
    _states()
    with session_scope() as s:  # rows written before addresses were normalised
        s.add(Person(name="Capitals only", email="Person.10@Example.org", role=Role.STAKEHOLDER))
        s.add(Person(name="Capitals, older", email="PERSON.20@example.org", role=Role.STAKEHOLDER))
        s.add(Person(name="Capitals, newer", email="Person.20@example.org", role=Role.STAKEHOLDER))
        s.add(Person(name="Capitals, older than the exact one", email="Person.30@example.org", role=Role.STAKEHOLDER))
        s.add(Person(name="Exact case", email="person.30@example.org", role=Role.STAKEHOLDER))
        s.add(Person(name="Inactive", email="person.40@example.org", role=Role.STAKEHOLDER, active=False))
        s.add(Person(name="Not in the file", email="Someone.Else@example.org", role=Role.SECRETARIAT))
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "".join(_people(ROWS, prefix="Imported")), encoding="utf-8")

    with session_scope() as s:
        held = s.exec(select(Person).where(Person.email == "Person.10@Example.org")).one()
        counts = import_directory(s, read_directory(path), source=str(path), actor=ACTOR, now=seoul("2025-01-01 09:00"))
        assert (held.name, held.email) == ("Imported 10", "person.10@example.org"), "what the session held is fresh"
    assert counts == {"added": ROWS - 4, "updated": 4}

    with read_session() as s:
        people = {p.email: p for p in s.exec(select(Person)).all()}
    assert len(people) == ROWS + 3  # the file's people, the two case-only rows not chosen, the one not in it
    assert people["person.20@example.org"].name == "Imported 20"  # the oldest of two case-only matches...
    assert people["Person.20@example.org"].name == "Capitals, newer"  # ...the other is left as it was
    assert people["person.30@example.org"].name == "Imported 30"  # the exact case wins over an older row
    assert people["Person.30@example.org"].name == "Capitals, older than the exact one"
    assert (people["person.40@example.org"].name, people["person.40@example.org"].active) == ("Imported 40", False)
    assert people["Someone.Else@example.org"].role is Role.SECRETARIAT
    delegate = people["person.5000@example.org"]
    assert (delegate.name, delegate.role, delegate.member_state_code, delegate.active) == (
        "Imported 5000",
        Role.SOM_DELEGATE,
        "KR",
        True,
    )

    # The same file again: every row an update, nothing added, nothing duplicated.
    assert _import(path) == {"added": 0, "updated": ROWS}
    with read_session() as s:
        assert len(s.exec(select(Person.id)).all()) == ROWS + 3


def test_a_bad_row_in_the_middle_of_a_large_file_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    """Rows before and after it are valid; the refusal comes from the checks against the database (a focal
    point needs a member State), after every row was read: still nothing is written."""
    _states()
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "".join(_people(ROWS // 2)), encoding="utf-8")
    assert _import(path) == {"added": ROWS // 2, "updated": 0}
    before = fingerprint()
    rows = _people(ROWS, prefix="Renamed")
    rows[ROWS // 2] = "Middle Row,middle.row@example.org,focal_point,,,\n"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    with pytest.raises(InvalidInput, match="middle.row@example.org: a focal_point belongs to a member State"):
        _import(path)
    assert fingerprint() == before
    with read_session() as s:
        assert not s.exec(select(Person).where(col(Person.name).startswith("Renamed"))).all()


@pytest.mark.parametrize(
    ("bad", "field", "says"),
    [
        ("Far Down,not-an-address,stakeholder,,,\n", "email", "invalid e-mail address 'not-an-address'"),
        ("Far Down,far.down@example.invalid,stakeholder,,,\n", "email", "invalid e-mail address"),
        ("Far Down,far.down@example.org,stakeholder,,Asia/Nowhere,\n", "timezone", "unknown time zone"),
    ],
)
def test_a_bad_csv_row_far_down_is_named_by_its_line(
    data_dir: Path, tmp_path: Path, bad: str, field: str, says: str
) -> None:
    _states()
    before = fingerprint()
    rows = _people(ROWS)
    rows[ROWS - 7] = bad  # line ROWS - 7 + 2: the header is line 1
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        _import(path)
    assert refused.value.message.startswith(f"{path}:{ROWS - 5}: {field}: {says}")
    assert fingerprint() == before
