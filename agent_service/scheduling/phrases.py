"""A slot said the way a receptionist says it, and read back from what the agent said.

The booking dialogue keeps no state of its own (like message taking): the slots it offered are found
again in its own earlier lines. So the spoken form is one fixed pattern, "Tuesday the 8th of December at
10 am" (or "10:30 am"), and `slots_in` reads exactly that pattern back, choosing the year that makes
the weekday right nearest to now.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from agent_service.scheduling.when import spoken_time
from agent_service.scheduling.words import MONTHS, WEEKDAY_NAMES, ordinal_suffix

_SLOT = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) the (\d{1,2})(?:st|nd|rd|th) of "
    r"(January|February|March|April|May|June|July|August|September|October|November|December) at "
    r"(\d{1,2})(?::(\d{2}))? (am|pm)\b"
)


def say_day(day: date) -> str:
    weekday, month = WEEKDAY_NAMES[day.weekday()].title(), MONTHS[day.month - 1].title()
    return f"{weekday} the {day.day}{ordinal_suffix(day.day)} of {month}"


def say_slot(start: datetime, zone: ZoneInfo) -> str:
    local = start.astimezone(zone)
    return f"{say_day(local.date())} at {spoken_time(local.time())}"


def slots_in(text: str, now: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every slot phrase in `text` as an aware datetime, in order of appearance."""
    found = []
    today = now.astimezone(zone).date()
    for m in _SLOT.finditer(text):
        weekday, day, month = WEEKDAY_NAMES.index(m[1].lower()), int(m[2]), MONTHS.index(m[3].lower()) + 1
        hour = int(m[4]) % 12 + (12 if m[6] == "pm" else 0)
        at = time(hour, int(m[5] or 0))
        dates = []
        for year in (today.year - 1, today.year, today.year + 1, today.year + 2):
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if candidate.weekday() == weekday:
                dates.append(candidate)
        if dates:
            chosen = min(dates, key=lambda d: abs((d - today).days))
            found.append(datetime.combine(chosen, at, tzinfo=zone))
    return found
