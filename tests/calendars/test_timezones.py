"""Wall-clock times: the NFP meeting on every focal point's clock, by four parsers, by VTIMEZONE and by name."""

from __future__ import annotations

import json

import pytest

from tests.calendars.helpers import DATA, FOCAL_POINTS, NFP_UID, all_feeds, personal_body, process_body, state_body
from tests.calendars.parsers import PARSERS, with_icalendar, with_icaljs, with_vobject

EXPECTED = json.loads((DATA / "nfp-2025-04-10.expected.json").read_text())
ZONES = list(EXPECTED["local"])


@pytest.mark.parametrize("parser", list(PARSERS))
def test_the_nfp_meeting_on_every_clock(neaspec: str, parser: str) -> None:
    """The process feed, each member State's feed and each focal point's own feed, read by `parser`."""
    bodies = {"process": process_body(neaspec)}
    bodies |= {f"state {c}": state_body(c) for c in FOCAL_POINTS}
    bodies |= {f"person {e}": personal_body(e) for e in FOCAL_POINTS.values()}
    for name, body in bodies.items():
        shown = PARSERS[parser](body, ZONES)
        assert NFP_UID in shown, f"{name}: the NFP meeting is missing"
        local = {zone: list(times) for zone, times in shown[NFP_UID].local.items()}
        assert local == EXPECTED["local"], f"{name} read by {parser}"


def test_vtimezone_and_zone_name_agree_for_every_timed_event(neaspec: str) -> None:
    """Outlook and Thunderbird read the VTIMEZONE, Google the IANA name: the same wall clock either way."""
    from tests.calendars.parsers import require_node

    require_node()
    checked = 0
    for name, body in all_feeds(neaspec).items():
        by_name = with_icalendar(body, ZONES)
        for reading in (with_vobject(body, ZONES), with_icaljs(body, ZONES)):
            assert set(reading) == set(by_name), name
            for uid, event in by_name.items():
                assert reading[uid].local == event.local, f"{name}: {uid}"
                checked += bool(event.local)
    assert checked > 0


def test_every_tzid_has_its_vtimezone(neaspec: str) -> None:
    import icalendar

    for name, body in all_feeds(neaspec).items():
        cal = icalendar.Calendar.from_ical(body)
        assert cal.get_missing_tzids() == set(), name
        assert {str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")} == cal.get_used_tzids(), name


def test_a_lying_vtimezone_separates_the_two_readings() -> None:
    """Guards the test above: on a file whose VTIMEZONE contradicts its TZID, the readings must differ."""
    body = (DATA / "lying-vtimezone.ics").read_bytes()
    expected = json.loads((DATA / "lying-vtimezone.expected.json").read_text())
    zones = list(expected["by_name"])

    def table(shown: dict) -> dict:
        return {zone: list(times) for zone, times in shown[expected["uid"]].local.items()}

    assert table(with_icalendar(body, zones)) == expected["by_name"]
    assert table(with_vobject(body, zones)) == expected["by_vtimezone"]
    assert table(with_icaljs(body, zones)) == expected["by_vtimezone"]
