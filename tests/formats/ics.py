"""Parses an iCalendar document (stdin) with the `icalendar` package and
prints what a calendar client sees as JSON: the calendar's properties, each
VEVENT's values (times as UTC RFC 3339), the occurrences that the
`recurring-ical-events` client expands between the two dates given as
arguments, and the raw line checks RFC 5545 asks for (CRLF, 75 octets)."""

import datetime
import json
import sys

import icalendar
import recurring_ical_events

raw = sys.stdin.buffer.read()
lines = raw.split(b"\r\n")
layout = {
    "crlf": raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b""),
    "max_octets": max(len(line) for line in lines),
}
cal = icalendar.Calendar.from_ical(raw)


def utc(value):
    if value is None:
        return None
    dt = value.dt
    assert isinstance(dt, datetime.datetime) and dt.tzinfo is not None, dt
    return dt.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def text(component, name):
    value = component.get(name)
    return None if value is None else str(value)


events = [
    {
        "uid": text(e, "UID"),
        "sequence": e.get("SEQUENCE"),
        "summary": text(e, "SUMMARY"),
        "description": text(e, "DESCRIPTION"),
        "start": utc(e.get("DTSTART")),
        "end": utc(e.get("DTEND")),
        "stamp": utc(e.get("DTSTAMP")),
        "status": text(e, "STATUS"),
        "location": text(e, "LOCATION"),
        "url": text(e, "URL"),
    }
    for e in cal.walk("VEVENT")
]
start, end = (datetime.datetime.fromisoformat(a) for a in sys.argv[1:3])
occurrences = [
    {"uid": str(o["UID"]), "start": utc(o["DTSTART"])}
    for o in recurring_ical_events.of(cal).between(start, end)
]
print(
    json.dumps(
        {
            "calendar": {k: text(cal, k) for k in ("VERSION", "PRODID", "X-WR-CALNAME")},
            "events": events,
            "occurrences": occurrences,
            "layout": layout,
        }
    )
)
