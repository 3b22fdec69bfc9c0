"""Both calendars, the same promises: a real Radicale on loopback (CalDAV) and the embedded one on SQLite
and PostgreSQL. Book, find by phone, move (the same event, not a copy), cancel, and the race: two agents
that want one slot at the same moment get exactly one booking between them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from agent_service.calendar.base import Booking
from agent_service.errors import AppointmentNotFound, SlotTaken
from tests.calendar.conftest import Backing

TEN = datetime(2026, 12, 1, 10, tzinfo=UTC)
DAY = (TEN - timedelta(hours=10), TEN + timedelta(hours=14))


def booking(
    start: datetime = TEN, minutes: int = 30, name: str = "John Smith", phone: str = "+447700900123"
) -> Booking:
    return Booking(start, start + timedelta(minutes=minutes), name, phone, "check-up", "CA0001", "voice")


async def test_a_booking_is_busy_time_and_found_by_the_callers_number(backing: Backing) -> None:
    calendar = await backing.open()
    made = await calendar.create(booking())
    assert await calendar.busy(*DAY) == [made.interval()]
    # However the number is written, it is the same caller.
    for spelling in ("+447700900123", "07700 900123", "07700900123"):
        (found,) = await calendar.find(spelling, *DAY)
        assert (found.id, found.start, found.name, found.service) == (made.id, TEN, "John Smith", "check-up")
    assert await calendar.find("+447700900999", *DAY) == []
    assert [a.id for a in await calendar.appointments(*DAY)] == [made.id]


async def test_an_overlapping_booking_is_refused(backing: Backing) -> None:
    calendar = await backing.open()
    await calendar.create(booking(minutes=60))
    with pytest.raises(SlotTaken):
        await calendar.create(booking(TEN + timedelta(minutes=30), name="Ann Other", phone="+447700900456"))
    # Back to back is not overlapping.
    await calendar.create(booking(TEN + timedelta(minutes=60), name="Ann Other", phone="+447700900456"))
    assert len(await calendar.appointments(*DAY)) == 2


async def test_a_move_changes_the_same_event_and_leaves_no_copy(backing: Backing) -> None:
    calendar = await backing.open()
    made = await calendar.create(booking())
    later = TEN + timedelta(hours=3)
    moved = await calendar.move(made.id, later, later + timedelta(minutes=30))
    assert (moved.id, moved.start, moved.name) == (made.id, later, made.name)
    assert [(a.id, a.start) for a in await calendar.appointments(*DAY)] == [(made.id, later)]
    # Moving by a quarter of an hour overlaps only itself: allowed.
    await calendar.move(made.id, later + timedelta(minutes=15), later + timedelta(minutes=45))


async def test_a_move_onto_someone_elses_time_is_refused(backing: Backing) -> None:
    calendar = await backing.open()
    mine = await calendar.create(booking())
    await calendar.create(booking(TEN + timedelta(hours=1), name="Ann Other", phone="+447700900456"))
    with pytest.raises(SlotTaken):
        await calendar.move(mine.id, TEN + timedelta(hours=1), TEN + timedelta(hours=1, minutes=30))
    assert (await calendar.find("+447700900123", *DAY))[0].start == TEN


async def test_a_cancelled_appointment_is_gone_and_its_time_free(backing: Backing) -> None:
    calendar = await backing.open()
    made = await calendar.create(booking())
    cancelled = await calendar.cancel(made.id)
    assert cancelled.id == made.id
    assert await calendar.appointments(*DAY) == [] and await calendar.busy(*DAY) == []
    with pytest.raises(AppointmentNotFound):
        await calendar.cancel(made.id)
    await calendar.create(booking(name="Ann Other", phone="+447700900456"))


@pytest.mark.parametrize("second_start", [0, 15], ids=["same start", "overlapping start"])
async def test_two_agents_racing_for_one_slot_get_exactly_one_booking(
    backing: Backing, second_start: int
) -> None:
    first, second = await backing.open(), await backing.open()
    results = await asyncio.gather(
        first.create(booking(minutes=30)),
        second.create(
            booking(TEN + timedelta(minutes=second_start), name="Ann Other", phone="+447700900456")
        ),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], SlotTaken), results
    assert [a.id for a in await first.appointments(*DAY)] == [won[0].id]


async def test_many_agents_racing_for_one_slot_get_exactly_one_booking(backing: Backing) -> None:
    agents = [await backing.open() for _ in range(5)]
    results = await asyncio.gather(
        *(a.create(booking(name=f"Caller {i}", phone=f"+4477009001{i:02d}")) for i, a in enumerate(agents)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert all(isinstance(r, SlotTaken) for r in results if isinstance(r, BaseException))
    assert len(await agents[0].busy(*DAY)) == 1
