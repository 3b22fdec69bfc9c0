"""The same dialogue against the business's own CalDAV calendar (a real Radicale on loopback): the event
appears at the right local time with the caller's details, moves in place, and is removed on cancel."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import icalendar

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
