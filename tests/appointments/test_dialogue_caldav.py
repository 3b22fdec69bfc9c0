"""The same dialogue against the business's own CalDAV calendar (a real Radicale on loopback): the event
appears at the right local time with the caller's details, moves in place, and is removed on cancel; a
server that is slow or down books nothing and the caller is told so."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import icalendar
from prometheus_client import REGISTRY

from agent_service.brain.receptionist import OFFER
from tests.appointments.conftest import LONDON, Clinic, local
from tests.calendar.conftest import PASSWORD, USER, Radicale


async def test_book_move_and_cancel_in_a_caldav_calendar(radicale: Radicale) -> None:
    clinic = Clinic(radicale.calendar())
    caller = clinic.caller(conversation_id="CA77")
    await caller.say("I'd like to book a check-up on the third of December at half two")
    await caller.say("2:30")
    await caller.say("John Smith")
    await caller.say("yes")
    assert (await caller.say("yes")).startswith(
        "You're booked in for Thursday the 3rd of December at 2:30 pm"
    )

    (made,) = await clinic.booked()
    assert local(made.start) == datetime(2026, 12, 3, 14, 30, tzinfo=LONDON)
    event = _only_event(radicale)
    assert str(event["SUMMARY"]) == "Check-up: John Smith"
    description = str(event["DESCRIPTION"])
    assert "Phone: +447700900123" in description and "CA77" in description and "check-up" in description

    mover = clinic.caller(conversation_id="CA78")
    await mover.say("can I move my appointment?")
    await mover.say("Friday at 9")
    await mover.say("9 am")
    assert (await mover.say("yes")).startswith(
        "Done: your check-up is now on Friday the 4th of December at 9 am"
    )
    (moved,) = await clinic.booked()
    assert moved.id == made.id and local(moved.start) == datetime(2026, 12, 4, 9, tzinfo=LONDON)

    canceller = clinic.caller(conversation_id="CA79")
    await canceller.say("I need to cancel my appointment")
    await canceller.say("yes")
    assert await clinic.booked() == []
    await clinic.calendar.close()


def _only_event(radicale: Radicale) -> icalendar.Event:
    listing = httpx.request(
        "PROPFIND", radicale.url, auth=(USER, PASSWORD), headers={"Depth": "1"}, timeout=10
    ).text
    hrefs = re.findall(r"<href>([^<]+\.ics)</href>", listing)
    assert len(hrefs) == 1, listing
    href = hrefs[0]
    body = httpx.get(
        f"http://127.0.0.1:{radicale.process.port}{href}", auth=(USER, PASSWORD), timeout=10
    ).text
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    return event


def _appointment_failures(outcome: str) -> float:
    sample = REGISTRY.get_sample_value(
        "agentlocator_agent_appointments_total", {"operation": "book", "outcome": outcome}
    )
    return sample or 0.0


async def test_a_caldav_server_that_is_down_or_slow_books_nothing_and_says_so(radicale: Radicale) -> None:
    clinic = Clinic(radicale.calendar(timeout_s=2))
    caller = clinic.caller()
    for line in ("book a check-up on Friday at 11", "11 am", "John Smith", "yes"):
        await caller.say(line)
    before = _appointment_failures("unavailable")
    radicale.pause()  # slow: the server accepts the connection and never answers
    try:
        slow = await caller.say("yes")
    finally:
        radicale.resume()
    assert slow == "I'm sorry, I can't reach our calendar just now, so nothing has been booked. " + OFFER
    radicale.stop()  # down
    second = clinic.caller("+447700900456")
    assert await second.say("I'd like to book a check-up on Friday at 11") == (
        "I'm sorry, I can't reach our calendar just now, so nothing has been booked. " + OFFER
    )
    assert _appointment_failures("unavailable") == before + 1  # the write that timed out
    await clinic.calendar.close()
