"""The same feed read by four independent parsers, each reduced to what a calendar client shows.

- icalendar resolves a TZID by its IANA name (as Google Calendar does);
- vobject builds the zone from the feed's VTIMEZONE (dateutil's tzical, as Outlook does);
- recurring-ical-events expands the feed the way a client lists a date range;
- Mozilla's ical.js (Thunderbird's parser, in node) knows no zone database: only the feed's VTIMEZONE.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import vobject

from tests.conftest import missing_tool

JS_DIR = Path(__file__).resolve().parents[1] / "js"


@dataclass(frozen=True)
class Shown:
    """One event as a client shows it: text, status and the wall-clock times in each reader's zone."""

    uid: str
    summary: str
    description: str | None
    location: str | None
    status: str | None
    sequence: int
    all_day: bool
    start: str
    end: str
    local: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)


def _wall(moment: date | datetime, zone: str) -> str:
    if not isinstance(moment, datetime):
        return moment.isoformat()
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _shown(
    uid: str,
    summary: Any,
    description: Any,
    location: Any,
    status: Any,
    sequence: Any,
    start: date | datetime,
    end: date | datetime,
    zones: list[str],
) -> Shown:
    timed = isinstance(start, datetime)
    if timed and start.tzinfo is None:
        raise AssertionError(f"{uid}: floating time {start}")
    return Shown(
        uid=str(uid),
        summary=str(summary),
        description=None if description is None else str(description),
        location=None if location is None else str(location),
        status=None if status is None else str(status),
        sequence=int(sequence or 0),
        all_day=not timed,
        start=_wall(start, "UTC"),
        end=_wall(end, "UTC"),
        local={z: (_wall(start, z), _wall(end, z)) for z in zones} if timed else {},
    )


def _icalendar_event(e: icalendar.Event, zones: list[str]) -> Shown:
    """An event as the icalendar library gives it (directly, or expanded by recurring-ical-events)."""
    return _shown(
        e["uid"],
        e.get("summary"),
        e.get("description"),
        e.get("location"),
        e.get("status"),
        e.get("sequence"),
        e.decoded("dtstart"),
        e.decoded("dtend"),
        zones,
    )


def with_icalendar(body: bytes, zones: list[str]) -> dict[str, Shown]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["uid"]): _icalendar_event(e, zones) for e in cal.walk("VEVENT")}


def with_recurring_ical_events(body: bytes, zones: list[str]) -> dict[str, Shown]:
    cal = icalendar.Calendar.from_ical(body)
    found = recurring_ical_events.of(cal).between(date(1990, 1, 1), date(2100, 1, 1))
    return {str(e["uid"]): _icalendar_event(e, zones) for e in found}


def _forget_vobject_zones() -> None:
    """vobject keeps the first VTIMEZONE it meets per TZID for the whole process and ignores later ones; a
    client reads each feed afresh, so each parse here starts with only UTC known."""
    registry = vobject.icalendar.__dict__["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)


def with_vobject(body: bytes, zones: list[str]) -> dict[str, Shown]:
    _forget_vobject_zones()
    try:
        return _read_with_vobject(body, zones)
    finally:
        _forget_vobject_zones()  # leave no zone behind for a later, direct use of vobject


def _read_with_vobject(body: bytes, zones: list[str]) -> dict[str, Shown]:
    cal = vobject.readOne(body.decode("utf-8"))
    shown = {}
    for e in getattr(cal, "vevent_list", []):

        def get(name: str, e: Any = e) -> Any:
            prop = getattr(e, name, None)
            return None if prop is None else prop.value

        start, end = e.dtstart.value, e.dtend.value
        if isinstance(start, datetime):
            assert type(start.tzinfo).__name__ == "_tzicalvtz", "vobject must read the feed's VTIMEZONE"
        shown[get("uid")] = _shown(
            get("uid"),
            get("summary"),
            get("description"),
            get("location"),
            get("status"),
            get("sequence"),
            start,
            end,
            zones,
        )
    return shown


def node_available() -> bool:
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "ical.js").is_dir()


def require_node() -> None:
    if shutil.which("node") is None:
        missing_tool("node is not installed: the ical.js (Thunderbird) checks need node >= 18")
    if not (JS_DIR / "node_modules" / "ical.js").is_dir():
        missing_tool("ical.js is not installed: run 'npm ci' in tests/js (scripts/test does)")


def icaljs_raw(body: bytes, zones: list[str]) -> dict[str, Any]:
    require_node()
    done = subprocess.run(
        ["node", str(JS_DIR / "read_feed.mjs"), *zones], input=body, capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"ical.js failed: {done.stderr.decode()}")
    return json.loads(done.stdout)


def with_icaljs(body: bytes, zones: list[str]) -> dict[str, Shown]:
    shown = {}
    for e in icaljs_raw(body, zones)["events"]:
        start, end = e["start"], e["end"]
        timed = "utc" in start
        shown[e["uid"]] = Shown(
            uid=e["uid"],
            summary=e["summary"],
            description=e["description"],
            location=e["location"],
            status=e["status"],
            sequence=e["sequence"],
            all_day=not timed,
            start=start["utc"][:16].replace("T", " ") if timed else start["date"],
            end=end["utc"][:16].replace("T", " ") if timed else end["date"],
            local={z: (start["local"][z], end["local"][z]) for z in zones} if timed else {},
        )
    return shown


PARSERS = {
    "icalendar": with_icalendar,
    "recurring-ical-events": with_recurring_ical_events,
    "vobject": with_vobject,
    "ical.js": with_icaljs,
}
