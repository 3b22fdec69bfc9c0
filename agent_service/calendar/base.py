"""What the agent needs from a calendar, whoever keeps it: busy time, and its own appointments to create,
move, cancel and find by the caller's phone number.

Instants are aware datetimes (any zone; providers store UTC). Every write re-checks busy time itself,
atomically with the write (a lock, a transaction, a conditional request), and raises SlotTaken when it
lost: so two calls that want the same slot at once get exactly one booking between them. Failures are
the agent's CalendarError family (errors.py): CalendarUnavailable (down, slow) is retryable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agent_service.scheduling import Interval

PHONE_KEY_DIGITS = 9  # "07700 900123" and "+44 7700 900123" are the same number


def phone_key(number: str) -> str:
    """The last nine digits of a number: how a caller's own appointments are found again, whether it was
    given with a country code, a leading 0 or spaces."""
    return re.sub(r"\D", "", number)[-PHONE_KEY_DIGITS:]


@dataclass(frozen=True, slots=True)
class Booking:
    """An appointment to write."""

    start: datetime
    end: datetime
    name: str
    phone: str
    service: str
    source: str = ""  # the call or chat it was booked on (CallSid, WhatsApp conversation id)
    channel: str = ""  # voice, whatsapp, text, console


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    start: datetime
    end: datetime
    name: str
    phone: str
    service: str
    source: str = ""
    channel: str = ""

    @property
    def summary(self) -> str:
        return summary_of(self.service, self.name)

    def interval(self) -> Interval:
        return Interval(self.start, self.end)


def summary_of(service: str, name: str) -> str:
    return f"{service[:1].upper()}{service[1:]}: {name}" if name else service


def description_of(booking: Booking | Appointment) -> str:
    lines = [f"Name: {booking.name}", f"Phone: {booking.phone}", f"Service: {booking.service}"]
    if booking.source:
        lines.append(f"Booked by the AgentLocator agent on {booking.channel or 'a'} {booking.source}")
    return "\n".join(lines)


class Calendar(Protocol):
    name: str  # embedded, caldav: for logs and metrics

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Every busy interval overlapping [start, end): ours and anything else in the calendar."""
        ...

    async def create(self, booking: Booking) -> Appointment:
        """Write it if [start, end) is still free; SlotTaken if not."""
        ...

    async def move(self, appointment_id: str, start: datetime, end: datetime) -> Appointment:
        """Move it (the same appointment, never a copy) if the new time is free apart from itself."""
        ...

    async def cancel(self, appointment_id: str) -> Appointment:
        """Remove it; AppointmentNotFound when there is none."""
        ...

    async def find(self, phone: str, after: datetime, before: datetime) -> list[Appointment]:
        """Our appointments for this number starting in [after, before), soonest first."""
        ...

    async def appointments(self, start: datetime, end: datetime) -> list[Appointment]:
        """Our appointments starting in [start, end), soonest first (the console, the feed)."""
        ...

    async def close(self) -> None: ...
