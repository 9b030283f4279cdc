"""Feed tokens: issued once, stored hashed, several per person, revoked and rotated; and the CLI around them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from config import clock
from consultrack.cli import app, common
from models.audit import AuditEntry
from models.db import read_session, session_scope
from models.directory import Person
from models.errors import InvalidInput, NotFound
from models.queries import get_person
from models.token_rules import (
    TOKEN_PATTERN,
    issue_feed_token,
    person_for_token,
    revoke_feed_token,
    rotate_feed_token,
    tokens_of,
)
from models.tokens import FeedToken, hash_token, new_token
from tests.calendars.helpers import process_body, state_body
from tests.conftest import ACTOR, seoul

ANNA, LI = "anna.volkova@example.org", "li.wei@example.org"


def _issue(email: str, label: str = "") -> str:
    with session_scope() as session:
        return issue_feed_token(session, email, actor=ACTOR, now=clock.now(), label=label).secret


def _owner(token: str) -> str | None:
    with read_session() as session:
        person = person_for_token(session, token)
        return None if person is None else person.email


def test_issue_stores_only_a_hash_of_enough_randomness(neaspec: str) -> None:
    secrets = {_issue(ANNA, "laptop"), _issue(ANNA, "phone"), _issue(LI)}
    assert len(secrets) == 3 and all(TOKEN_PATTERN.fullmatch(s) for s in secrets)
    assert all(len(s) * 6 >= 128 for s in secrets)  # URL-safe base64: 6 bits a character (here 192 bits)
    with read_session() as session:
        rows = list(session.exec(select(FeedToken)).all())
        stored = {r.token_hash for r in rows}
        audit = [e.action for e in session.exec(select(AuditEntry)).all() if e.action.startswith("feed_token")]
        dumped = repr([r.model_dump() for r in rows]) + repr(list(session.exec(select(AuditEntry)).all()))
    assert stored == {hash_token(s) for s in secrets}
    assert not any(s in dumped for s in secrets), "a token in clear in the database"
    assert audit == ["feed_token.issue"] * 3
    assert {_owner(s) for s in secrets} == {ANNA, LI}


def test_revoked_unknown_malformed_and_inactive_all_miss(neaspec: str) -> None:
    laptop, phone = _issue(ANNA, "laptop"), _issue(ANNA, "phone")
    with session_scope() as session:
        revoke_feed_token(session, laptop, actor=ACTOR, now=clock.now())
    assert _owner(laptop) is None and _owner(phone) == ANNA  # the other token lives on
    for bad in (
        phone.swapcase(),
        phone[:-1],
        phone + "A",
        "",
        "../" * 11,
        "x" * 10_000,
        "é" * 32,
        hash_token(phone),
        phone.replace(phone[0], "/" if phone[0] != "/" else "a", 1),
    ):
        assert _owner(bad) is None, bad
    with session_scope() as session:
        session.exec(select(Person).where(Person.email == ANNA)).one().active = False
    assert _owner(phone) is None


def test_revoke_and_rotate(neaspec: str) -> None:
    old = _issue(ANNA, "laptop")
    with session_scope() as session:
        new = rotate_feed_token(session, old, actor=ACTOR, now=clock.now())
        new_secret, new_id = new.secret, new.row.id
    assert _owner(old) is None and _owner(new_secret) == ANNA
    with read_session() as session:
        rows = tokens_of(session, FeedToken, get_person(session, ANNA).id)
    assert [(t.label, t.revoked_at is None) for t, _ in rows] == [("laptop", False), ("laptop", True)]
    with pytest.raises(InvalidInput, match="already revoked"), session_scope() as session:
        revoke_feed_token(session, old, actor=ACTOR, now=clock.now())
    with pytest.raises(NotFound), session_scope() as session:
        revoke_feed_token(session, "999", actor=ACTOR, now=clock.now())
    with session_scope() as session:
        revoke_feed_token(session, str(new_id), actor=ACTOR, now=clock.now())  # by the id the list shows
    assert _owner(new_secret) is None


def test_no_token_for_strangers_or_inactive_people(neaspec: str) -> None:
    with pytest.raises(NotFound), session_scope() as session:
        issue_feed_token(session, "nobody@example.org", actor=ACTOR, now=clock.now())
    with session_scope() as session:
        session.exec(select(Person).where(Person.email == LI)).one().active = False
    with pytest.raises(InvalidInput, match="inactive"), session_scope() as session:
        issue_feed_token(session, LI, actor=ACTOR, now=clock.now())
    with read_session() as session:
        assert session.exec(select(FeedToken)).all() == []


def _cli(*args: str) -> tuple[int, str, str]:
    common.console.width = 200
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_feed_token_commands(neaspec: str) -> None:
    clock.set_now(seoul("2025-03-20 09:00"))
    code, out, _ = _cli("feed", "token", "new", ANNA, "--label", "work laptop", "--actor", ACTOR)
    assert code == 0 and "shown only now" in out
    secret = re.search(r"/calendars/([A-Za-z0-9_-]{32})\.ics", out).group(1)  # type: ignore[union-attr]
    assert f"webcal://127.0.0.1:8000/calendars/{secret}.ics" in out and f"/subscribe/{secret}" in out
    assert _owner(secret) == ANNA
    code, out, _ = _cli("feed", "token", "list")
    assert code == 0 and ANNA in out and "work laptop" in out and secret not in out
    code, out, _ = _cli("feed", "token", "rotate", "1", "--actor", ACTOR)
    fresh = re.search(r"/calendars/([A-Za-z0-9_-]{32})\.ics", out).group(1)  # type: ignore[union-attr]
    assert code == 0 and _owner(secret) is None and _owner(fresh) == ANNA
    listed = re.compile(r"^\W*(\d+)\W", re.MULTILINE)
    assert listed.findall(_cli("feed", "token", "list")[1]) == ["2"]  # the revoked one is hidden...
    assert listed.findall(_cli("feed", "token", "list", "--all", "--person", ANNA)[1]) == ["1", "2"]  # ...unless asked
    code, out, _ = _cli("feed", "token", "revoke", fresh, "--actor", ACTOR)
    assert code == 0 and "feed token 2 revoked" in out and _owner(fresh) is None


def test_tokens_never_begin_with_a_dash_and_an_older_one_still_revokes_after_double_dash(neaspec: str) -> None:
    """A token starting with "-" reads as an option on a command line: 1 in 64 of plain token_urlsafe does."""
    assert not any(new_token().startswith("-") for _ in range(5_000))  # (63/64)**5000 if the draw were plain
    legacy = "-" + new_token()[1:]
    with session_scope() as session:
        anna = session.exec(select(Person).where(Person.email == ANNA)).one()
        session.add(FeedToken(person_id=anna.id, token_hash=hash_token(legacy), created_at=clock.now()))
    assert _owner(legacy) == ANNA
    code, out, _ = _cli("feed", "token", "revoke", "--actor", ACTOR, "--", legacy)
    assert code == 0 and "revoked" in out and _owner(legacy) is None


@pytest.mark.parametrize(
    "args,message",
    [
        (("feed", "token", "new", "nobody@example.org"), "nobody with the e-mail address"),
        (("feed", "token", "revoke", "42"), "no feed token 42"),
        (("feed", "token", "revoke", "A" * 32), "no feed token (given secret)"),
        (("feed", "token", "rotate", "7"), "no feed token 7"),
        (("feed", "token", "list", "--person", "nobody@example.org"), "nobody with the e-mail address"),
        (("feed", "token", "new", ANNA, "--label", "laptop\rX-Evil: 1"), "the label contains a carriage return (CR)"),
    ],
)
def test_bad_token_commands_fail_cleanly_and_change_nothing(neaspec: str, args: tuple[str, ...], message: str) -> None:
    _issue(ANNA)
    with read_session() as session:
        before = [r.model_dump() for r in session.exec(select(FeedToken)).all()]
        audits = len(session.exec(select(AuditEntry)).all())
    code, _, err = _cli(*args)
    assert code != 0 and message in err and "Traceback" not in err
    with read_session() as session:
        assert [r.model_dump() for r in session.exec(select(FeedToken)).all()] == before
        assert len(session.exec(select(AuditEntry)).all()) == audits


def test_export_writes_the_public_feeds_as_served(neaspec: str, tmp_path: Path) -> None:
    code, out, _ = _cli("feed", "export", str(tmp_path / "site"))
    assert code == 0 and "7 feeds written" in out
    root = tmp_path / "site" / "calendars"
    assert (root / "processes" / f"{neaspec}.ics").read_bytes() == process_body(neaspec)
    for code_ in ("CN", "KP", "JP", "MN", "KR", "RU"):
        assert (root / "member-states" / f"{code_}.ics").read_bytes() == state_body(code_)
    assert [p.name for p in root.rglob("*") if p.is_file() and p.suffix != ".ics"] == []  # no partial files


def test_export_dates_the_files_and_drops_stale_ones(neaspec: str, tmp_path: Path) -> None:
    from calendars import feeds

    root = tmp_path / "site" / "calendars"
    (root / "processes").mkdir(parents=True)
    stale = root / "processes" / "a-process-since-deleted.ics"
    stale.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    keep = root / "index.html"  # not ours: left alone
    keep.write_text("hello")
    code, out, _ = _cli("feed", "export", str(tmp_path / "site"))
    assert code == 0 and "1 stale removed" in out
    assert not stale.exists() and keep.exists()
    with read_session() as session:
        expected = feeds.process_feed(session, neaspec).last_modified.timestamp()
    assert (root / "processes" / f"{neaspec}.ics").stat().st_mtime == expected
