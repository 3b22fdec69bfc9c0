"""Free slots: inside opening hours, after the lead time, never overlapping busy time, nearest first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from agent_service.knowledge.opening import BookingRules, OpeningHours
from agent_service.scheduling import (
    Interval,
    WhenAsked,
    find_slots,
    is_free,
    say_slot,
    slots_in,
    understand_when,
)
from tests.scheduling.conftest import LONDON, NEW_YORK, clinic_hours

NOW = datetime(2026, 11, 30, 9, 15, tzinfo=LONDON)  # Monday
HOURS = clinic_hours(lead_minutes=60, step_minutes=15, horizon_days=90)


def when(text: str, now: datetime = NOW) -> WhenAsked:
    result = understand_when(text, now)
    assert isinstance(result, WhenAsked)
    return result


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON)


def test_the_time_asked_for_is_offered_with_its_nearest_neighbour() -> None:
    offer = find_slots(when("tomorrow at ten"), 30, [], NOW, HOURS)
    assert offer.within
    assert local(date(2026, 12, 1), time(10)) in offer.slots and len(offer.slots) == 2


def test_a_window_offers_its_earliest_free_slots() -> None:
    offer = find_slots(when("next Tuesday afternoon"), 30, [], NOW, HOURS)
    assert offer.slots == (local(date(2026, 12, 1), time(12)), local(date(2026, 12, 1), time(12, 15)))


def test_busy_time_is_never_offered() -> None:
    tuesday = date(2026, 12, 1)
    busy = [Interval(local(tuesday, time(9, 45)), local(tuesday, time(10, 45)))]
    offer = find_slots(when("tomorrow at ten"), 30, busy, NOW, HOURS)
    # 9:15 ends at 9:45 and 10:45 starts as the busy time ends: both touch it, neither overlaps it.
    assert offer.slots == (local(tuesday, time(9, 15)), local(tuesday, time(10, 45)))
    for slot in offer.slots:
        assert not busy[0].overlaps(slot, slot + timedelta(minutes=30))


def test_a_service_must_end_by_closing_time() -> None:
    offer = find_slots(when("Saturday at 12:30"), 60, [], NOW, HOURS)
    assert all(s + timedelta(minutes=60) <= local(date(2026, 12, 5), time(13)) for s in offer.slots)
    assert local(date(2026, 12, 5), time(12)) in offer.slots


def test_nothing_before_the_lead_time_or_in_the_past() -> None:
    offer = find_slots(when("today"), 30, [], NOW, HOURS)
    assert offer.slots[0] == local(NOW.date(), time(10, 15))  # 9:15 + 60 minutes, on the grid


def test_a_closed_day_offers_the_nearest_open_days_instead() -> None:
    offer = find_slots(when("Sunday"), 30, [], NOW, HOURS)
    assert not offer.within
    assert [s.date() for s in offer.slots] == [date(2026, 12, 7)] * 2


def test_a_holiday_is_closed() -> None:
    hours = OpeningHours(HOURS.timezone, HOURS.weekly, frozenset({date(2026, 12, 25)}), HOURS.rules)
    offer = find_slots(when("the 25th of December at 10"), 30, [], NOW, hours)
    assert not offer.within and all(s.date() != date(2026, 12, 25) for s in offer.slots)


def test_a_full_window_falls_back_to_the_nearest_free_slots() -> None:
    tuesday = date(2026, 12, 1)
    busy = [Interval(local(tuesday, time(12)), local(tuesday, time(17)))]
    offer = find_slots(when("next Tuesday afternoon"), 30, busy, NOW, HOURS)
    assert not offer.within
    assert all(not busy[0].overlaps(s, s + timedelta(minutes=30)) for s in offer.slots)
    assert offer.slots[0].date() == tuesday


def test_nothing_beyond_the_horizon() -> None:
    hours = clinic_hours(horizon_days=3)
    assert find_slots(when("the 20th of December"), 30, [], NOW, hours).slots == ()


def test_is_free_checks_every_rule() -> None:
    tuesday = date(2026, 12, 1)
    busy = [Interval(local(tuesday, time(11)), local(tuesday, time(11, 30)))]
    assert is_free(local(tuesday, time(10)), 30, busy, NOW, HOURS)
    assert not is_free(local(tuesday, time(10, 45)), 30, busy, NOW, HOURS)  # runs into busy time
    assert not is_free(local(tuesday, time(10, 7)), 30, busy, NOW, HOURS)  # off the grid
    assert not is_free(local(tuesday, time(17, 45)), 30, busy, NOW, HOURS)  # past closing
    assert not is_free(local(NOW.date(), time(9, 30)), 30, busy, NOW, HOURS)  # inside the lead time
    assert not is_free(local(date(2026, 12, 6), time(10)), 30, busy, NOW, HOURS)  # Sunday


def test_ten_am_is_ten_am_local_on_both_sides_of_the_clock_change() -> None:
    # Europe/London goes to BST on Sunday the 28th of March 2027: 10 am is 10:00Z before, 09:00Z after.
    thursday = datetime(2027, 3, 25, 9, tzinfo=LONDON)
    saturday_night = datetime(2027, 3, 27, 23, 30, tzinfo=LONDON)
    before = find_slots(when("tomorrow at ten", thursday), 30, [], thursday, HOURS)
    after = find_slots(when("Monday at ten", saturday_night), 30, [], saturday_night, HOURS)
    ten_before = next(s for s in before.slots if s.time() == time(10))
    ten_after = next(s for s in after.slots if s.time() == time(10))
    assert ten_before.astimezone(UTC).hour == 10 and ten_after.astimezone(UTC).hour == 9


def _round_the_clock(zone: str) -> OpeningHours:
    day = ((time(0), time(23, 59)),)
    return OpeningHours(zone, (day,) * 7, frozenset(), BookingRules(lead_minutes=0, step_minutes=30))


def test_no_slot_starts_in_the_spring_forward_gap() -> None:
    # America/New_York: on the 14th of March 2027 2:00-2:59 am does not exist.
    hours = _round_the_clock("America/New_York")
    now = datetime(2027, 3, 13, 12, tzinfo=NEW_YORK)
    asked = WhenAsked(date(2027, 3, 14), date(2027, 3, 14), time(1), time(4))
    slots = find_slots(asked, 30, [], now, hours, count=4).slots
    assert [s.strftime("%H:%M") for s in slots] == ["01:00", "01:30", "03:00", "03:30"]
    # Each lasts 30 real minutes: 1:30 EST ends at 3:00 EDT.
    assert (slots[2].astimezone(UTC) - slots[1].astimezone(UTC)) == timedelta(minutes=30)


def test_busy_time_in_the_repeated_fall_back_hour_is_respected() -> None:
    # America/New_York: on the 1st of November 2026 1:00-1:59 am happens twice; busy time is UTC.
    hours = _round_the_clock("America/New_York")
    now = datetime(2026, 10, 31, 12, tzinfo=NEW_YORK)
    first_one_am = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 1:00 EDT
    busy = [Interval(first_one_am, first_one_am + timedelta(hours=1))]
    asked = WhenAsked(date(2026, 11, 1), date(2026, 11, 1), time(0), time(3))
    slots = find_slots(asked, 30, busy, now, hours, count=6).slots
    for slot in slots:
        assert not busy[0].overlaps(slot.astimezone(UTC), slot.astimezone(UTC) + timedelta(minutes=30))


def test_a_spoken_slot_reads_back_to_the_same_instant() -> None:
    for slot in find_slots(when("next week"), 45, [], NOW, HOURS, count=5).slots:
        text = f"I have {say_slot(slot, LONDON)} free."
        assert slots_in(text, NOW, LONDON) == [slot]
    assert say_slot(local(date(2026, 12, 8), time(10)), LONDON) == "Tuesday the 8th of December at 10 am"
    assert (
        say_slot(local(date(2026, 12, 8), time(14, 30)), LONDON) == "Tuesday the 8th of December at 2:30 pm"
    )
