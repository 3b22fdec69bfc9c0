"""CalDAV against a real Radicale: the owner's own events are busy time, and a server that is down, slow
or refuses us is reported as such (CalendarUnavailable / CalendarRejected), never as a booking."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from agent_service.calendar.base import Booking
from agent_service.calendar.caldav_calendar import LOCK_TTL_S
from agent_service.errors import CalendarRejected, CalendarUnavailable
from tests.calendar.conftest import PASSWORD, USER, Radicale

TEN = datetime(2026, 12, 1, 10, tzinfo=UTC)
WEEK = (TEN - timedelta(days=1), TEN + timedelta(days=7))


def booking(start: datetime = TEN) -> Booking:
    return Booking(
        start, start + timedelta(minutes=30), "John Smith", "+447700900123", "check-up", "CA1", "voice"
    )


def put_owner_event(radicale: Radicale, name: str, *lines: str) -> None:
    """An event the owner made in their own calendar app (no X-AGENTLOCATOR properties)."""
    body = "".join(f"{line}\r\n" for line in lines)
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//owner//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{name}\r\nDTSTAMP:20261101T000000Z\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert dav(radicale, "PUT", f"{name}.ics", ics) in (201, 204)


def dav(radicale: Radicale, method: str, name: str, body: str = "") -> int:
    response = httpx.request(method, radicale.url + name, content=body, auth=(USER, PASSWORD), timeout=10)
    return response.status_code


def lock_text(expires: float) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:agentlocator-write-lock\r\n"
        "DTSTAMP:20261101T000000Z\r\nDTSTART:19700101T000000Z\r\nDTEND:19700101T000100Z\r\n"
        f"X-AGENTLOCATOR-LOCK-EXPIRES:{expires:.3f}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


async def test_the_owners_own_events_are_busy_and_never_taken_for_appointments(radicale: Radicale) -> None:
    # A weekly staff meeting (recurring, in London time), a day off (all-day), and a reminder marked free.
    put_owner_event(
        radicale,
        "meeting",
        "DTSTART;TZID=Europe/London:20261124T090000",
        "DTEND;TZID=Europe/London:20261124T100000",
        "RRULE:FREQ=WEEKLY",
        "SUMMARY:Staff meeting",
    )
    put_owner_event(
        radicale, "day-off", "DTSTART;VALUE=DATE:20261203", "DTEND;VALUE=DATE:20261204", "SUMMARY:Training"
    )
    put_owner_event(
        radicale, "reminder", "DTSTART:20261202T120000Z", "DTEND:20261202T130000Z", "TRANSP:TRANSPARENT"
    )
    calendar = radicale.calendar()
    busy = sorted((b.start, b.end) for b in await calendar.busy(*WEEK))
    assert (datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC)) in busy
    assert (datetime(2026, 12, 3, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC)) in busy
    assert all(start.date() != datetime(2026, 12, 2).date() for start, _ in busy)
    assert await calendar.appointments(*WEEK) == []
    with pytest.raises(Exception, match="taken"):
        await calendar.create(booking(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)))
    await calendar.close()


async def test_a_server_that_is_down_is_unavailable_and_books_nothing(radicale: Radicale) -> None:
    calendar = radicale.calendar()
    radicale.stop()
    with pytest.raises(CalendarUnavailable) as raised:
        await calendar.create(booking())
    assert raised.value.retryable
    with pytest.raises(CalendarUnavailable):
        await calendar.busy(*WEEK)
    await calendar.close()


async def test_a_server_that_does_not_answer_times_out(radicale: Radicale) -> None:
    calendar = radicale.calendar(timeout_s=2)
    await calendar.busy(*WEEK)  # connected and answering
    radicale.pause()
    try:
        with pytest.raises(CalendarUnavailable, match="did not answer within 2 s"):
            await calendar.busy(*WEEK)
        with pytest.raises(CalendarUnavailable):
            await calendar.create(booking())
    finally:
        radicale.resume()
    await calendar.close()
    # Nothing was written while it was stopped.
    fresh = radicale.calendar()
    assert await fresh.appointments(*WEEK) == []
    await fresh.close()


async def test_wrong_credentials_are_rejected_not_retried(radicale: Radicale) -> None:
    calendar = radicale.calendar(password="not-the-password")
    with pytest.raises(CalendarRejected, match="CALENDAR_PASSWORD") as raised:
        await calendar.create(booking())
    assert not raised.value.retryable
    await calendar.close()


async def test_a_lock_left_by_a_dead_agent_is_taken_over_once_stale(radicale: Radicale) -> None:
    assert dav(radicale, "PUT", "agentlocator-write-lock.ics", lock_text(time.time() - 1)) == 201
    calendar = radicale.calendar()
    made = await calendar.create(booking())
    assert [a.id for a in await calendar.appointments(*WEEK)] == [made.id]
    assert dav(radicale, "GET", "agentlocator-write-lock.ics") == 404  # released after the write
    await calendar.close()


async def test_a_live_lock_is_waited_for_not_broken(radicale: Radicale) -> None:
    assert dav(radicale, "PUT", "agentlocator-write-lock.ics", lock_text(time.time() + LOCK_TTL_S)) == 201
    calendar = radicale.calendar(timeout_s=3)
    with pytest.raises(CalendarUnavailable, match="locked by another booking"):
        await calendar.create(booking())
    assert await calendar.appointments(*WEEK) == []
    # Once its holder lets go, the booking goes through.
    assert dav(radicale, "DELETE", "agentlocator-write-lock.ics") in (200, 204)
    await asyncio.wait_for(calendar.create(booking()), 10)
    await calendar.close()
