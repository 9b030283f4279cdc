"""Two versions of a feed, before and after the secretariat reschedules, confirms, cancels and skips."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from config import clock
from models.db import session_scope
from models.enums import MeetingStatus
from models.lifecycle import skip_stage
from models.meetings import set_meeting_status
from models.schedule import apply_reschedule
from tests.calendars.helpers import personal_body, process_body
from tests.calendars.parsers import PARSERS
from tests.conftest import ACTOR, seoul

CHANGED_AT = seoul("2025-03-20 09:00")


def _change(process_key: str) -> None:
    """Three separate decisions, as the secretariat would take them, each in its own transaction."""
    with clock.frozen(CHANGED_AT), session_scope() as session:
        apply_reschedule(
            session,
            process_key,
            "outline-feedback",
            actor=ACTOR,
            now=clock.now(),
            reason="NFPs asked for two more weeks",
            end=date(2025, 4, 15),
        )
    with clock.frozen(CHANGED_AT + timedelta(minutes=1)), session_scope() as session:
        apply_reschedule(
            session,
            process_key,
            "som28-adoption",
            actor=ACTOR,
            now=clock.now(),
            reason="SOM-28 dates agreed",
            confirm=True,
        )
    with clock.frozen(CHANGED_AT + timedelta(minutes=2)), session_scope() as session:
        set_meeting_status(
            session,
            process_key,
            "nfp-2025-04",
            MeetingStatus.CANCELLED,
            actor=ACTOR,
            now=clock.now(),
            reason="merged into the final NFP meeting",
        )
        skip_stage(session, process_key, "revision", actor=ACTOR, now=clock.now(), reason="folded into drafting")


@pytest.mark.parametrize("parser", list(PARSERS))
def test_two_versions_same_uids_higher_sequence_cancelled_marked(neaspec: str, parser: str) -> None:
    read = PARSERS[parser]
    zones = ["Asia/Seoul", "Europe/Moscow"]
    feeds = {"process": lambda: process_body(neaspec), "anna": lambda: personal_body("anna.volkova@example.org")}
    with clock.frozen(CHANGED_AT - timedelta(days=1)):
        versions = {name: [read(make(), zones)] for name, make in feeds.items()}
    _change(neaspec)
    with clock.frozen(CHANGED_AT + timedelta(hours=1)):
        for name, make in feeds.items():
            versions[name].append(read(make(), zones))

    uid = f"{neaspec}.{{}}@consultrack".format
    moved = {
        uid(f"{kind}.{key}")
        for kind in ("stage", "deadline")
        for key in (
            "outline-feedback",
            "consultations",
            "drafting",
            "draft-review",
            "final-nfp-meeting",
            "som28-adoption",
        )
    }  # the first ends 15 days later; the others follow it
    cancelled = {uid("meeting.nfp-2025-04"), uid("stage.revision"), uid("deadline.revision")}
    confirmed = {uid("stage.som28-adoption"), uid("deadline.som28-adoption"), uid("meeting.som-28")}
    for name, (before, after) in versions.items():
        assert set(after) == set(before), f"{name}: an event appeared or vanished instead of changing in place"
        for key in before:
            if key in moved | cancelled | confirmed:
                assert after[key].sequence > before[key].sequence, f"{name}: {key}"
            else:
                assert after[key] == before[key], f"{name}: {key} changed although nothing about it did"
        for key in moved & set(after):
            assert after[key].end > before[key].end and after[key].status == "CONFIRMED", f"{name}: {key}"
        for key in cancelled & set(after):
            assert after[key].status == "CANCELLED" and after[key].summary.startswith("Cancelled: "), key
            assert before[key].status != "CANCELLED"
        for key in confirmed & set(after):
            assert (before[key].status, after[key].status) == ("TENTATIVE", "CONFIRMED")
            assert "to be confirmed" not in after[key].summary
        nfp = after[uid("meeting.nfp-2025-04")]  # moved with its stage (15 days), then cancelled
        assert nfp.local["Asia/Seoul"] == ("2025-04-25 15:00", "2025-04-25 18:00")
        assert nfp.local["Europe/Moscow"] == ("2025-04-25 09:00", "2025-04-25 12:00")
    assert cancelled <= set(versions["process"][1]) and uid("meeting.nfp-2025-04") in versions["anna"][1]


def test_cancelled_events_stay_for_the_retention_period_then_go(neaspec: str) -> None:
    from calendars.feeds import RETENTION

    _change(neaspec)
    gone = {f"{neaspec}.{k}@consultrack" for k in ("meeting.nfp-2025-04", "stage.revision", "deadline.revision")}
    with clock.frozen(CHANGED_AT + RETENTION - timedelta(days=1)):
        still = PARSERS["icalendar"](process_body(neaspec), ["UTC"])
    with clock.frozen(CHANGED_AT + RETENTION + timedelta(days=2)):
        later = PARSERS["icalendar"](process_body(neaspec), ["UTC"])
    assert gone <= set(still)
    assert gone.isdisjoint(later) and set(still) - gone == set(later)


def test_a_change_shows_on_the_next_request_with_new_validators(neaspec: str) -> None:
    from calendars import feeds
    from models.db import read_session

    with clock.frozen(CHANGED_AT), read_session() as session:
        first = feeds.process_feed(session, neaspec)
        assert feeds.process_feed(session, neaspec) is first  # served from the cache
    _change(neaspec)
    with clock.frozen(CHANGED_AT + timedelta(hours=1)), read_session() as session:
        second = feeds.process_feed(session, neaspec)
    assert second.etag != first.etag and second.body != first.body
    assert second.last_modified == (CHANGED_AT + timedelta(minutes=2)).replace(microsecond=0)
    assert second.last_modified > first.last_modified
