"""The directory: YAML and CSV imports, validated whole, written all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from config.settings import DIRECTORY_SAMPLES_DIR
from models.db import read_session, session_scope
from models.directory import Person
from models.directory_import import import_directory, read_directory
from models.enums import Role
from models.errors import InvalidInput
from models.queries import get_person, member_states
from tests.conftest import ACTOR, seoul
from tests.helpers import fingerprint


def _import(path: Path) -> dict[str, int]:
    with session_scope() as session:
        return import_directory(
            session, read_directory(path), source=str(path), actor=ACTOR, now=seoul("2025-01-01 09:00")
        )


def test_sample_yaml_then_csv(data_dir: Path) -> None:
    assert _import(DIRECTORY_SAMPLES_DIR / "sample.yaml") == {"added": 22, "updated": 0}
    assert _import(DIRECTORY_SAMPLES_DIR / "sample-people.csv") == {"added": 2, "updated": 0}
    with read_session() as s:
        assert [m.code for m in member_states(s)] == ["CN", "KP", "JP", "MN", "KR", "RU"]
        assert get_person(s, "PAVEL.ORLOV@example.org").timezone == "Asia/Vladivostok"
        assert get_person(s, "olga.stakeholder@example.org").language == "ru"
    # Importing again updates in place: no duplicates.
    assert _import(DIRECTORY_SAMPLES_DIR / "sample.yaml") == {"added": 0, "updated": 22}


BAD_YAML = {
    "email": ("people:\n  - {name: A, email: not-an-address, role: stakeholder}\n", "people.0.email", "invalid e-mail"),
    "tz": (
        "people:\n  - {name: A, email: a@example.org, role: stakeholder, timezone: Mars/Olympus}\n",
        "people.0.timezone",
        "unknown time zone",
    ),
    "role": ("people:\n  - {name: A, email: a@example.org, role: minister}\n", "people.0.role", "Input should be"),
    "state": (
        "people:\n  - {name: A, email: a@example.org, role: focal_point, member_state: XX}\n",
        None,
        "unknown member State 'XX'",
    ),
    "duplicate": (
        "people:\n  - {name: A, email: a@example.org, role: stakeholder}\n"
        "  - {name: B, email: A@example.org, role: stakeholder}\n",
        None,
        "listed twice",
    ),
    "focal point without state": (
        "people:\n  - {name: A, email: a@example.org, role: focal_point}\n",
        None,
        "belongs to a member State",
    ),
    "name in text without the name": (
        "member_states:\n  - {code: RU, name: Russian Federation, "
        "name_in_text: the Russia, timezone: Europe/Moscow}\npeople:\n",
        "member_states.0",
        "must end with the name",
    ),
    "newline in name in text": (
        "member_states:\n  - {code: RU, name: Russian Federation, "
        'name_in_text: "the\\nRussian Federation", timezone: Europe/Moscow}\npeople:\n',
        "member_states.0.name_in_text",
        "one line",
    ),
    "newline in name": (
        'people:\n  - {name: "A\\nBcc: x@evil.example", email: a@example.org, role: stakeholder}\n',
        "people.0.name",
        "one line",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_YAML))
def test_bad_directory_changes_nothing(data_dir: Path, tmp_path: Path, case: str) -> None:
    _import(DIRECTORY_SAMPLES_DIR / "sample.yaml")
    before = fingerprint()
    text, field, says = BAD_YAML[case]
    path = tmp_path / "bad.yaml"
    # A good row first: all-or-nothing means it must not be written either.
    path.write_text(
        text.replace("people:\n", "people:\n  - {name: Good, email: good@example.org, role: stakeholder}\n").replace(
            "people.0", "people.1"
        )
    )
    with pytest.raises(InvalidInput) as err:
        _import(path)
    assert says in err.value.message
    if field:
        assert field.replace("people.0", "people.1") in err.value.message
        assert err.value.message.startswith(f"{path}:")
    assert fingerprint() == before


def test_bad_csv_names_the_row(data_dir: Path, tmp_path: Path) -> None:
    _import(DIRECTORY_SAMPLES_DIR / "sample.yaml")
    before = fingerprint()
    path = tmp_path / "people.csv"
    path.write_text(
        "name,email,role,member_state,timezone,language\n"
        "Good,good@example.org,stakeholder,,,\n"
        "Bad,bad@example.org,stakeholder,,Asia/Nowhere,\n"
    )
    with pytest.raises(InvalidInput, match=rf"^{path}:3: timezone: unknown time zone"):
        _import(path)
    path.write_text("nom,courriel\nA,a@example.org\n")
    with pytest.raises(InvalidInput, match="header needs the columns"):
        _import(path)
    assert fingerprint() == before


def _people_file(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def test_addresses_differing_only_in_case_are_one_person(data_dir: Path, tmp_path: Path) -> None:
    first = _people_file(
        tmp_path, "a.yaml", "people:\n  - {name: Jane Doe, email: Jane.Doe@Example.ORG, role: stakeholder}\n"
    )
    second = _people_file(tmp_path, "b.csv", "name,email,role\nJane D.,jane.doe@example.org,stakeholder\n")
    assert _import(first) == {"added": 1, "updated": 0}
    assert _import(second) == {"added": 0, "updated": 1}
    with read_session() as s:
        (person,) = s.exec(select(Person)).all()
        assert (person.email, person.name) == ("jane.doe@example.org", "Jane D.")
        for asked in ("Jane.Doe@example.org", "JANE.DOE@EXAMPLE.ORG", " jane.doe@example.org "):
            assert get_person(s, asked).id == person.id


def test_duplicate_check_sees_case(data_dir: Path, tmp_path: Path) -> None:
    path = _people_file(
        tmp_path, "p.csv", "name,email,role\nA,Jane.Doe@example.org,stakeholder\nB,jane.doe@EXAMPLE.org,stakeholder\n"
    )
    with pytest.raises(InvalidInput, match="jane.doe@example.org is listed twice"):
        _import(path)


def test_a_person_stored_with_capitals_is_found_and_updated(data_dir: Path, tmp_path: Path) -> None:
    """A row written before addresses were normalised: found by any case, and an import updates it in place."""
    with session_scope() as s:
        s.add(Person(name="Old Row", email="Jane.Doe@example.org", role=Role.STAKEHOLDER))
    with read_session() as s:
        assert get_person(s, "jane.doe@example.org").name == "Old Row"
    path = _people_file(
        tmp_path, "p.yaml", "people:\n  - {name: Jane Doe, email: jane.doe@example.org, role: stakeholder}\n"
    )
    assert _import(path) == {"added": 0, "updated": 1}
    with read_session() as s:
        assert [(p.name, p.email) for p in s.exec(select(Person)).all()] == [("Jane Doe", "jane.doe@example.org")]


def test_duplicate_yaml_key_is_refused(data_dir: Path, tmp_path: Path) -> None:
    before = fingerprint()
    path = _people_file(
        tmp_path,
        "p.yaml",
        "people:\n  - name: A\n    email: a@example.org\n    role: stakeholder\n    email: b@example.org\n",
    )
    with pytest.raises(InvalidInput) as err:
        _import(path)
    assert err.value.message == f"{path}:5: people.0.email: duplicate key 'email' (already given on line 3)"
    assert fingerprint() == before


def test_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    """`<<` merges are not duplicates: a mapping's own key overrides a merged one, as YAML says."""
    from models.yaml_source import load_yaml

    path = _people_file(
        tmp_path,
        "p.yaml",
        "base: &base {role: stakeholder, name: X}\npeople:\n  - {<<: *base, name: A, email: a@example.org}\n",
    )

    data, _ = load_yaml(path)
    assert data["people"] == [{"role": "stakeholder", "name": "A", "email": "a@example.org"}]
