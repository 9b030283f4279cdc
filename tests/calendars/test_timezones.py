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


DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Europe/Moscow", "Asia/Seoul"]


def test_zones_with_daylight_saving_read_alike_by_vtimezone_and_by_name() -> None:
    """No member State keeps daylight saving, but a meeting may be set in a zone that does (a partner in
    Berlin, a session in New York): summer, winter and the days around each change, over several years."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from icalendar import Event

    from calendars.feeds import render

    items, expected = [], {}
    for zone in DST_ZONES:
        for year in (2024, 2025, 2026):
            for month, day, hour in ((1, 15, 10), (3, 30, 4), (4, 1, 10), (7, 1, 10), (10, 26, 4), (11, 3, 9)):
                start = datetime(year, month, day, hour, 30, tzinfo=ZoneInfo(zone))
                event = Event()
                uid = f"{zone}-{start:%Y%m%d%H%M}@test"
                event.add("uid", uid)
                event.add("dtstamp", datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")))
                event.add("summary", f"meeting in {zone}")
                event.add("dtstart", start)
                event.add("dtend", start + timedelta(hours=2))
                event.add("status", "CONFIRMED")
                items.append(event)
                utc = start.astimezone(ZoneInfo("UTC"))
                expected[uid] = (f"{utc:%Y-%m-%d %H:%M}", f"{utc + timedelta(hours=2):%Y-%m-%d %H:%M}")
    body = render("DST", "zones with daylight saving", items)
    for parser in PARSERS.values():
        shown = parser(body, ["UTC"])
        assert {uid: e.local["UTC"] for uid, e in shown.items()} == expected, parser.__name__
