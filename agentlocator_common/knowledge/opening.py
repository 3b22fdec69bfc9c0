"""Structured opening hours, for booking: per weekday, holidays, the time zone, and the booking rules.

The knowledge file's `hours` stays the sentence the agent says; these keys are what availability is
computed from, so a caller is never offered a time the business is shut. Parsed from YAML nodes by the
loader (which names the line and key of a bad value); this module only holds the result and the
value parsers, and imports neither service so the loader stays a leaf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Span = tuple[time, time]


@dataclass(frozen=True, slots=True)
class BookingRules:
    lead_minutes: int = 60  # the soonest bookable time is this long from now
    step_minutes: int = 15  # slots start on this grid from opening time
    horizon_days: int = 90  # how far ahead the agent books


@dataclass(frozen=True, slots=True)
class OpeningHours:
    timezone: str  # IANA name
    weekly: tuple[tuple[Span, ...], ...]  # seven entries, Monday first; () is closed
    holidays: frozenset[date] = frozenset()
    rules: BookingRules = BookingRules()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def spans(self, day: date) -> tuple[Span, ...]:
        return () if day in self.holidays else self.weekly[day.weekday()]

    def open_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening periods as aware datetimes in the business's zone (wall-clock times)."""
        zone = self.zone
        return [
            (datetime.combine(day, start, tzinfo=zone), datetime.combine(day, end, tzinfo=zone))
            for start, end in self.spans(day)
        ]

    def earliest_open(self) -> time:
        starts = [span[0] for spans in self.weekly for span in spans]
        return min(starts) if starts else time(9)

    def latest_close(self) -> time:
        ends = [span[1] for spans in self.weekly for span in spans]
        return max(ends) if ends else time(17)

    def horizon(self) -> timedelta:
        return timedelta(days=self.rules.horizon_days)


def parse_zone(raw: str) -> str:
    """An IANA zone name, checked against the zone database; ValueError says what is wrong."""
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{raw!r} is not an IANA time zone such as Europe/London") from None
    return raw


def parse_spans(raw: str) -> tuple[Span, ...]:
    """'08:30-12:30, 13:30-18:00' or 'closed'; ValueError says what is wrong."""
    if raw.strip().lower() == "closed":
        return ()
    spans: list[Span] = []
    for part in raw.split(","):
        m = _RANGE.match(part)
        if m is None:
            raise ValueError(f"{part.strip()!r} is not a range like 08:30-18:00 (or 'closed')")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{part.strip()!r} has a time that does not exist")
        start, end = time(h1, m1), time(23, 59) if h2 == 24 else time(h2, m2)
        if end <= start:
            raise ValueError(f"{part.strip()!r} closes before it opens")
        if spans and start < spans[-1][1]:
            raise ValueError(f"{part.strip()!r} overlaps or precedes the range before it")
        spans.append((start, end))
    return tuple(spans)


def parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a date like 2026-12-25") from None


def parse_minutes(raw: str, *, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number of minutes") from None
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}")
    return value
