"""When a caller wants to come in, as they say it: "next Tuesday afternoon", "tomorrow at ten", "the third
of December at half two", "any time Friday", "the 31st of November" (which does not exist).

A pure function of the words and an injected `now` (aware, in the business's zone): the answer is a
range of days, an optional window within the day and an optional time asked for, or a `DateProblem`
the agent says as it is. Times without am/pm are read as a receptionist would: 8 to 11 in the
morning, 12 at noon, 1 to 7 in the afternoon.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from agent_service.scheduling.words import (
    MONTH_ALIASES,
    MONTHS,
    WEEKDAY_ALIASES,
    WEEKDAY_NAMES,
    normalise,
    ordinal_suffix,
)

_MONTH = "|".join((*MONTHS, *MONTH_ALIASES))
_DAY = "|".join((*WEEKDAY_NAMES, *WEEKDAY_ALIASES))
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"
_PARTS = {
    "morning": (time(0), time(12)),
    "lunchtime": (time(11, 30), time(14)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(23, 59)),
    "tonight": (time(17), time(23, 59)),
}
_PART_WORDS = {"morning": "morning", "lunchtime": "lunchtime", "lunch": "lunchtime", "afternoon": "afternoon"}
_PART_WORDS |= {"evening": "evening", "tonight": "tonight", "first thing": "morning"}


@dataclass(frozen=True, slots=True)
class WhenAsked:
    first_day: date
    last_day: date
    earliest: time | None = None  # the window within each day ("afternoon"), inclusive
    latest: time | None = None  # exclusive: a slot starts before it
    at: time | None = None  # a time asked for: slots nearest to it come first
    any_day: bool = False  # no day was named: the soonest day that fits


@dataclass(frozen=True, slots=True)
class DateProblem:
    """A date or time that cannot be booked, and the plain sentence that says why."""

    kind: str  # nonexistent, past, no_such_time
    sentence: str


def understand_when(text: str, now: datetime, horizon_days: int = 90) -> WhenAsked | DateProblem | None:
    """None: the words name no day and no time."""
    words = normalise(text)
    today = now.date()
    clock, words = _time_of_day(words)
    part = next((_PART_WORDS[w] for w in _PART_WORDS if re.search(rf"\b{w}\b", words)), None)
    if isinstance(clock, DateProblem):
        return clock
    days = _days(words, today, horizon_days)
    if isinstance(days, DateProblem):
        return days
    if days is None and clock is None and part is None:
        return None
    at = None
    if clock is not None:
        hour, minute, meridiem = clock
        at = _resolve_hour(hour, minute, meridiem, part)
        if at is None:
            return DateProblem("no_such_time", f"Sorry, {hour}:{minute:02d} isn't a time of day.")
    earliest, latest = _PARTS[part] if part else (None, None)
    if part == "tonight" and days is None:
        days = (today, today)
    window = _window(words, at)
    if window is not None:
        earliest, latest, at = (*window, None)
    any_day = days is None
    first, last = days or (today, today + timedelta(days=horizon_days))
    asked = WhenAsked(first, last, earliest, latest, at, any_day)
    return _check_past_or_gap(asked, now) or asked


_PREPOSITIONS = r"at|around|about|for|from|after|before|by"
_TIME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"\b(?:12 )?(?:noon|midday)\b", "noon"),
        (r"\b(half|quarter) past (\d{1,2})\b", "past"),
        (r"\bquarter to (\d{1,2})\b", "quarter_to"),
        (r"\b(5|10|20|25) past (\d{1,2})\b", "past"),
        (r"\b(5|10|20|25) to (\d{1,2})\b", "to"),
        (r"\bhalf (\d{1,2})\b", "half"),  # British: "half two" is 2:30
        (r"\b(\d{1,2}):(\d{2})(?: (am|pm))?\b", "clock"),
        (rf"\b(\d{{1,2}}) (\d{{2}})(?: (am|pm))?\b(?! (?:{_MONTH}))", "clock"),
        (r"\b(\d{1,2}) (am|pm)\b", "hour"),
        (rf"\b(?:{_PREPOSITIONS}) (\d{{1,2}})\b(?!st|nd|rd|th| of)", "bare"),
    )
)
_PAST = {"half": 30, "quarter": 15}


def _time_of_day(words: str) -> tuple[tuple[int, int, str] | DateProblem | None, str]:
    """(hour, minute, 'am'|'pm'|'') and the words with the time replaced by '@' (a preposition before it
    kept, for 'after 3' and 'before 11')."""
    for pattern, kind in _TIME_PATTERNS:
        m = pattern.search(words)
        if m is None:
            continue
        if kind == "noon":
            hour, minute, meridiem = 12, 0, "pm"
        elif kind == "past":
            hour, minute, meridiem = int(m[2]), _PAST.get(m[1]) or int(m[1]), ""
        elif kind == "quarter_to":
            hour, minute, meridiem = int(m[1]) - 1, 45, ""
        elif kind == "to":
            hour, minute, meridiem = int(m[2]) - 1, 60 - int(m[1]), ""
        elif kind == "half":
            hour, minute, meridiem = int(m[1]), 30, ""
        elif kind == "clock":
            hour, minute, meridiem = int(m[1]), int(m[2]), m[3] or ""
        elif kind == "hour":
            hour, minute, meridiem = int(m[1]), 0, m[2]
        else:
            hour, minute, meridiem = int(m[1]), 0, ""
        before = words[max(0, m.start() - 8) : m.start()].split()
        lead = before[-1] if before and re.fullmatch(_PREPOSITIONS, before[-1]) else ""
        rest = words[: m.start()] + " @ " + words[m.end() :]
        if kind == "bare":
            rest = words[: m.start()] + m[0].split()[0] + " @ " + words[m.end() :]
        elif lead:
            rest = rest.replace(f"{lead}  @", f"{lead} @")
        if not (0 <= hour <= 23 and 0 <= minute <= 59):
            return DateProblem("no_such_time", "Sorry, that isn't a time of day."), words
        return (hour, minute, meridiem), " ".join(rest.split())
    return None, words


def _resolve_hour(hour: int, minute: int, meridiem: str, part: str | None) -> time | None:
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif hour < 12 and part in ("afternoon", "evening", "tonight") or part != "morning" and 1 <= hour <= 7:
        hour += 12
    return time(hour, minute)


def _window(words: str, at: time | None) -> tuple[time, time] | None:
    """'after 3' / 'before 11' turn a time into a window."""
    if at is None:
        return None
    if re.search(r"\b(?:after|from) @", words):
        return at, time(23, 59)
    if re.search(r"\b(?:before|by) @", words):
        return time(0), at
    return None


def _days(words: str, today: date, horizon: int) -> tuple[date, date] | DateProblem | None:
    if re.search(r"\byesterday\b|\blast (?:" + _DAY + r")\b", words):
        return DateProblem("past", "That day has already gone.")
    if re.search(r"\bday after tomorrow\b", words):
        return _one(today + timedelta(days=2))
    if re.search(r"\btomorrow\b", words):
        return _one(today + timedelta(days=1))
    if re.search(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", words):
        return _one(today)
    dated = _calendar_date(words, today)
    if dated is not None:
        return dated
    m = re.search(r"\b(?:(next|this|coming) )?(" + _DAY + r")s?\b( week)?", words)
    if m is not None:
        weekday = WEEKDAY_NAMES.index(m[2]) if m[2] in WEEKDAY_NAMES else WEEKDAY_ALIASES[m[2]]
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and m[1] == "next":
            ahead = 7  # "next Monday" said on a Monday is a week away; plain "Monday" is today
        return _one(today + timedelta(days=ahead + (7 if m[3] else 0)))
    if re.search(r"\bnext week\b", words):
        monday = today + timedelta(days=7 - today.weekday())
        return monday, monday + timedelta(days=6)
    if re.search(r"\bthis week\b", words):
        return today, today + timedelta(days=6 - today.weekday())
    if re.search(r"\b(?:next |this |the )?weekend\b", words):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        return saturday, saturday + timedelta(days=1)
    m = re.search(r"\bin (" + _MONTH + r")\b", words)
    if m is not None:
        month = _month(m[1])
        year = today.year + (1 if month < today.month else 0)
        first = max(date(year, month, 1), today)
        return first, date(year, month, calendar.monthrange(year, month)[1])
    if re.search(r"\b(?:any ?time|whenever|soonest|earliest|as soon as|asap|first available)\b", words):
        return today, today + timedelta(days=horizon)
    return None


def _calendar_date(words: str, today: date) -> tuple[date, date] | DateProblem | None:
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", words)
    if m is not None:
        return _dated(int(m[3]), int(m[2]), int(m[1]), today)
    in_year = r"(?: (\d{4}))?"
    m = re.search(rf"\b{_ORD} (?:of )?({_MONTH}){in_year}\b", words)
    if m is not None:
        return _dated(int(m[1]), _month(m[2]), int(m[3]) if m[3] else None, today)
    m = re.search(rf"\b({_MONTH}) (?:the )?{_ORD}\b{in_year}", words)
    if m is not None:
        return _dated(int(m[2]), _month(m[1]), int(m[3]) if m[3] else None, today)
    m = re.search(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", words)
    if m is not None:
        day = int(m[1])
        month, year = today.month, today.year
        if day < today.day:
            month, year = (1, year + 1) if month == 12 else (month + 1, year)
        return _dated(day, month, year, today)
    return None


def _dated(day: int, month: int, year: int | None, today: date) -> tuple[date, date] | DateProblem:
    name = f"{day}{ordinal_suffix(day)} of {MONTHS[month - 1].title()}"
    if not 1 <= day <= calendar.monthrange(2024, month)[1]:  # 2024: a leap year, so the 29th of February
        return DateProblem("nonexistent", f"There's no {name}.")
    if year is None:
        year = today.year
        if (month, day) < (today.month, today.day):
            year += 1
    try:
        asked = date(year, month, day)
    except ValueError:
        return DateProblem("nonexistent", f"There's no {name} in {year}.")
    if asked < today:
        return DateProblem("past", f"The {name} {asked.year} has already gone.")
    return _one(asked)


def _check_past_or_gap(asked: WhenAsked, now: datetime) -> DateProblem | None:
    if asked.at is None or asked.first_day != asked.last_day:
        return None
    local = datetime.combine(asked.first_day, asked.at, tzinfo=now.tzinfo)
    if not wall_time_exists(local):
        return DateProblem(
            "no_such_time",
            f"{spoken_time(asked.at)} doesn't exist that day: the clocks go forward. "
            "Which time would suit you?",
        )
    if local <= now:
        return DateProblem("past", f"{spoken_time(asked.at)} that day has already passed.")
    return None


def wall_time_exists(local: datetime) -> bool:
    """False for a time inside a DST gap (1:30 am on the day the clocks go forward in London)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def spoken_time(at: time) -> str:
    hour = at.hour % 12 or 12
    minutes = f":{at.minute:02d}" if at.minute else ""
    return f"{hour}{minutes} {'am' if at.hour < 12 else 'pm'}"


def _one(day: date) -> tuple[date, date]:
    return day, day


def _month(word: str) -> int:
    return MONTHS.index(word) + 1 if word in MONTHS else MONTH_ALIASES[word]
