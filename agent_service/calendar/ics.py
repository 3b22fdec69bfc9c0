"""Appointments as iCalendar (RFC 5545) through `icalendar`: the events the agent writes to CalDAV, the
busy time it reads back (recurring events expanded, all-day and floating times in the business's
zone, transparent and cancelled ones free), and the read-only feed the gateway publishes.

The agent's own events carry X-AGENTLOCATOR-* properties beside the human-readable SUMMARY and
DESCRIPTION, so it finds them again exactly (by phone) and never mistakes the owner's events for its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

import icalendar
import recurring_ical_events

from agent_service.calendar.base import Appointment, Booking, description_of, summary_of
from agent_service.scheduling import Interval

PRODID = "-//AgentLocator//Appointments//EN"
_X = {"name": "X-AGENTLOCATOR-NAME", "phone": "X-AGENTLOCATOR-PHONE", "service": "X-AGENTLOCATOR-SERVICE"}
_X_SOURCE, _X_CHANNEL = "X-AGENTLOCATOR-SOURCE", "X-AGENTLOCATOR-CHANNEL"


def event_of(uid: str, booking: Booking | Appointment, *, stamp: datetime | None = None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp or datetime.now(UTC))
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("summary", summary_of(booking.service, booking.name))
    event.add("description", description_of(booking))
    event.add("status", "CONFIRMED")
    for field, prop in _X.items():
        event.add(prop, getattr(booking, field))
    event.add(_X_SOURCE, booking.source)
    event.add(_X_CHANNEL, booking.channel)
    return event


def calendar_text(events: Iterable[icalendar.Event], *, name: str = "") -> str:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if name:
        cal.add("X-WR-CALNAME", name)
    for event in events:
        cal.add_component(event)
    return str(cal.to_ical().decode("utf-8"))


def feed(appointments: Iterable[Appointment], *, name: str) -> str:
    """The read-only iCalendar feed: one VEVENT per booked appointment."""
    return calendar_text((event_of(a.id, a) for a in appointments), name=name)


def parse(text: str) -> icalendar.Calendar:
    """Raises ValueError for text that is not iCalendar."""
    return icalendar.Calendar.from_ical(text)


def appointment_of(event: Any) -> Appointment | None:
    """The agent's own appointment in a VEVENT; None for anyone else's event (or a cancelled one)."""
    if event.get(_X["service"]) is None or str(event.get("status", "")).upper() == "CANCELLED":
        return None
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return None
    return Appointment(
        id=str(event.get("uid")),
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        name=str(event.get(_X["name"], "")),
        phone=str(event.get(_X["phone"], "")),
        service=str(event.get(_X["service"], "")),
        source=str(event.get(_X_SOURCE, "")),
        channel=str(event.get(_X_CHANNEL, "")),
    )


def busy_of(cal: icalendar.Calendar, start: datetime, end: datetime, zone: tzinfo) -> list[Interval]:
    """Busy intervals of every event in [start, end), recurrences expanded."""
    busy = []
    for event in recurring_ical_events.of(cal).between(start, end):
        if str(event.get("transp", "")).upper() == "TRANSPARENT":
            continue
        if str(event.get("status", "")).upper() == "CANCELLED":
            continue
        begins = _instant(event.decoded("dtstart"), zone)
        ends = _instant(event.decoded("dtend"), zone) if event.get("dtend") else None
        if ends is None:
            duration = event.decoded("duration") if event.get("duration") else None
            ends = begins + duration if duration is not None else begins
        if ends > begins:
            busy.append(Interval(begins, ends))
    return busy


def _instant(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)  # an all-day event
