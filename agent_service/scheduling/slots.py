"""Free slots: opening hours, the service's length, busy time and a lead time, nearest first.

Pure: everything (hours, busy intervals, now) is handed in. Candidates start on the `step_minutes` grid
from each opening time in wall-clock time, so a slot reads "10:15", never "10:07"; every comparison is
made between aware instants (an appointment's end is its start plus its minutes in real time), so
slots on the days the clocks change are as long as any other and never start in a gap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from agent_service.knowledge.opening import OpeningHours
from agent_service.scheduling.when import WhenAsked, wall_time_exists

FALLBACK_DAYS = 14  # how far past the days asked for the nearest other slots are looked for


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime  # aware
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True, slots=True)
class Offer:
    slots: tuple[datetime, ...]  # aware, in the business's zone, in time order
    within: bool  # True: at least the first is inside what the caller asked for


def search_range(asked: WhenAsked, hours: OpeningHours) -> tuple[datetime, datetime]:
    """The instants whose busy time `find_slots` needs for this request."""
    zone = hours.zone
    last = min(asked.last_day + timedelta(days=FALLBACK_DAYS), _horizon_day(asked.first_day, hours))
    start = datetime.combine(asked.first_day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _horizon_day(first: date, hours: OpeningHours) -> date:
    return first + timedelta(days=hours.rules.horizon_days)


def candidates(day: date, minutes: int, hours: OpeningHours) -> Iterator[datetime]:
    """Every start on the day's grid at which the service fits inside an opening period."""
    length = timedelta(minutes=minutes)
    step = timedelta(minutes=hours.rules.step_minutes)
    for opens, closes in hours.open_periods(day):
        wall = opens
        closes_at = closes.astimezone(UTC)
        while True:
            start = wall.astimezone(UTC)
            if start + length > closes_at:
                break
            if wall_time_exists(wall):
                yield wall
            wall = (wall.replace(tzinfo=None) + step).replace(tzinfo=wall.tzinfo)


def is_free(
    start: datetime, minutes: int, busy: Sequence[Interval], now: datetime, hours: OpeningHours
) -> bool:
    """Bookable: inside opening hours on the grid, after the lead time, within the horizon, not busy."""
    # Aware datetimes that share a tzinfo compare and subtract as wall-clock times: go through UTC.
    local, start = start.astimezone(hours.zone), start.astimezone(UTC)
    if start < now.astimezone(UTC) + timedelta(minutes=hours.rules.lead_minutes):
        return False
    if local.date() > now.astimezone(hours.zone).date() + hours.horizon():
        return False
    if local not in set(candidates(local.date(), minutes, hours)):
        return False
    end = start + timedelta(minutes=minutes)
    return not any(b.overlaps(start, end) for b in busy)


def find_slots(
    asked: WhenAsked,
    minutes: int,
    busy: Sequence[Interval],
    now: datetime,
    hours: OpeningHours,
    count: int = 2,
) -> Offer:
    """The `count` free slots nearest to what was asked: inside it first (the time asked for, or the
    earliest in the window), then the nearest others; empty when nothing is free in the horizon."""
    today = now.astimezone(hours.zone).date()
    horizon = today + hours.horizon()
    soonest = now.astimezone(UTC) + timedelta(minutes=hours.rules.lead_minutes)
    length = timedelta(minutes=minutes)

    def free(day: date) -> list[datetime]:
        # In UTC from here on: aware datetimes that share a tzinfo subtract as wall-clock times.
        starts = (s.astimezone(UTC) for s in candidates(day, minutes, hours))
        return [s for s in starts if s >= soonest and not any(b.overlaps(s, s + length) for b in busy)]

    inside: list[datetime] = []
    day = max(asked.first_day, today)
    while day <= min(asked.last_day, horizon) and len(inside) < count:
        found = [s for s in free(day) if _in_window(s.astimezone(hours.zone), asked)]
        if asked.at is not None:
            target = datetime.combine(day, asked.at, tzinfo=hours.zone).astimezone(UTC)
            found.sort(key=lambda s: (abs(s - target), s))
        inside.extend(found[: count - len(inside)])
        day += timedelta(days=1)
    if len(inside) >= count:
        return Offer(tuple(s.astimezone(hours.zone) for s in sorted(inside)), True)
    anchor = _anchor(asked, hours)
    others: list[datetime] = []
    day = max(asked.first_day - timedelta(days=FALLBACK_DAYS if asked.any_day else 0), today)
    last = min(asked.last_day + timedelta(days=FALLBACK_DAYS), horizon)
    while day <= last:
        others.extend(s for s in free(day) if s not in inside)
        day += timedelta(days=1)
    others.sort(key=lambda s: (abs(s - anchor), s))
    chosen = sorted(inside + others[: count - len(inside)])
    return Offer(tuple(s.astimezone(hours.zone) for s in chosen), bool(inside))


def _in_window(slot: datetime, asked: WhenAsked) -> bool:
    at = slot.timetz().replace(tzinfo=None)
    if asked.earliest is not None and at < asked.earliest:
        return False
    return not (asked.latest is not None and at >= asked.latest)


def _anchor(asked: WhenAsked, hours: OpeningHours) -> datetime:
    """The instant the caller asked for, to measure 'nearest' from."""
    at = asked.at or asked.earliest or hours.earliest_open()
    return datetime.combine(asked.first_day, at, tzinfo=hours.zone).astimezone(UTC)
