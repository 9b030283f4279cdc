// Reads an iCalendar feed (stdin) with Mozilla's ical.js, the parser of Thunderbird, and prints what a client
// would show as JSON. Like Thunderbird, it resolves TZIDs only through the feed's own VTIMEZONE components
// (ical.js carries no zone database), then shows each instant on the reader's clock (argv: IANA zones, via Intl).
import ICAL from "ical.js";
import { readFileSync } from "node:fs";

const zones = process.argv.slice(2);
const root = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtz);
}

const wallClock = (date, zone) => {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}`;
};

const value = (time) => {
  if (time.isDate) return { date: time.toString() };
  const zone = time.zone ? time.zone.tzid : null;
  if (!zone || zone === "floating") throw new Error(`floating or unresolved time ${time.toString()}`);
  const instant = time.toJSDate();
  return {
    tzid: zone,
    wall: time.toString(),
    utc: instant.toISOString(),
    local: Object.fromEntries(zones.map((z) => [z, wallClock(instant, z)])),
  };
};

const text = (comp, name) => {
  const v = comp.getFirstPropertyValue(name);
  return v === null ? null : String(v);
};

const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    location: event.location,
    status: text(vevent, "status"),
    sequence: event.sequence,
    start: value(event.startDate),
    end: value(event.endDate),
    alarms: vevent.getAllSubcomponents("valarm").map((a) => String(a.getFirstPropertyValue("trigger"))),
    stamp: text(vevent, "dtstamp"),
    lastModified: text(vevent, "last-modified"),
  };
});

console.log(JSON.stringify({
  name: text(root, "x-wr-calname"),
  description: text(root, "x-wr-caldesc"),
  refresh: text(root, "refresh-interval"),
  ttl: text(root, "x-published-ttl"),
  timezones: root.getAllSubcomponents("vtimezone").map((t) => t.getFirstPropertyValue("tzid")),
  events,
}));
