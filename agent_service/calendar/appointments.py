"""The agent's appointments: the calendar, the opening hours and a clock, behind one object the booking
dialogue and the LLM tools share (so both check exactly the same things).

Slots are offered from busy time read now; a booking, a move and a cancel re-check inside the calendar's
own atomic write. Every operation is counted (agentlocator_agent_appointments_total{operation,
outcome}) and logged with the call or chat id; a calendar that fails is reported, never papered over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from agent_service.calendar.base import Appointment, Booking, Calendar
from agent_service.errors import AppointmentNotFound, CalendarError, CalendarUnavailable, SlotTaken
from agent_service.knowledge import Knowledge, Service
from agent_service.knowledge.opening import OpeningHours
from agent_service.scheduling import Offer, WhenAsked, find_slots, is_free, search_range

log = logging.getLogger(__name__)

APPOINTMENTS = Counter(
    "agentlocator_agent_appointments",
    "Appointment operations against the calendar, by operation (offer, book, move, cancel, find) and "
    "outcome (ok, taken, unavailable, rejected, not_found)",
    ["operation", "outcome"],
)


def _outcome(error: CalendarError | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, SlotTaken):
        return "taken"
    if isinstance(error, AppointmentNotFound):
        return "not_found"
    return "unavailable" if isinstance(error, CalendarUnavailable) else "rejected"


class Appointments:
    def __init__(
        self,
        calendar: Calendar,
        knowledge: Knowledge,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if knowledge.opening is None:
            raise ValueError("appointments need opening_hours in the knowledge file")
        self.calendar = calendar
        self.business = knowledge.name
        self.hours: OpeningHours = knowledge.opening
        self.services = tuple(s for s in knowledge.services if s.minutes > 0)
        self._now = now

    def now(self) -> datetime:
        return self._now().astimezone(self.hours.zone)

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    async def offer(self, service: Service, asked: WhenAsked, *, source: str = "", count: int = 2) -> Offer:
        now = self.now()
        start, end = search_range(asked, self.hours)
        try:
            busy = await self.calendar.busy(start, end)
        except CalendarError as e:
            self._failed("offer", source, e)
            raise
        APPOINTMENTS.labels("offer", "ok").inc()
        return find_slots(asked, service.minutes, busy, now, self.hours, count)

    async def book(
        self, service: Service, start: datetime, name: str, phone: str, *, source: str, channel: str
    ) -> Appointment:
        end = start + timedelta(minutes=service.minutes)
        try:
            await self._still_bookable(start, service.minutes, moving=None)
            made = await self.calendar.create(Booking(start, end, name, phone, service.name, source, channel))
        except CalendarError as e:
            self._failed("book", source, e)
            raise
        APPOINTMENTS.labels("book", "ok").inc()
        log.info(
            "APPOINTMENT_BOOKED conversation=%s id=%s start=%s service=%r",
            source,
            made.id,
            made.start.astimezone(self.hours.zone).isoformat(),
            service.name,
        )
        return made

    async def move(self, appointment: Appointment, start: datetime, *, source: str) -> Appointment:
        minutes = round((appointment.end - appointment.start).total_seconds() / 60)
        try:
            await self._still_bookable(start, minutes, moving=appointment.id)
            moved = await self.calendar.move(appointment.id, start, start + timedelta(minutes=minutes))
        except CalendarError as e:
            self._failed("move", source, e)
            raise
        APPOINTMENTS.labels("move", "ok").inc()
        log.info(
            "APPOINTMENT_MOVED conversation=%s id=%s start=%s",
            source,
            moved.id,
            moved.start.astimezone(self.hours.zone).isoformat(),
        )
        return moved

    async def cancel(self, appointment_id: str, *, source: str) -> Appointment:
        try:
            cancelled = await self.calendar.cancel(appointment_id)
        except CalendarError as e:
            self._failed("cancel", source, e)
            raise
        APPOINTMENTS.labels("cancel", "ok").inc()
        log.info("APPOINTMENT_CANCELLED conversation=%s id=%s", source, cancelled.id)
        return cancelled

    async def find(self, phone: str, *, source: str) -> list[Appointment]:
        """The caller's upcoming appointments, soonest first."""
        now = self.now()
        try:
            found = await self.calendar.find(phone, now, now + self.hours.horizon() + timedelta(days=1))
        except CalendarError as e:
            self._failed("find", source, e)
            raise
        APPOINTMENTS.labels("find", "ok").inc()
        return found

    async def _still_bookable(self, start: datetime, minutes: int, *, moving: str | None) -> None:
        """Hours, grid, lead time and horizon, against busy time read just now; the calendar re-checks
        busy time again atomically with its write."""
        busy = await self.calendar.busy(start - timedelta(minutes=1), start + timedelta(minutes=minutes + 1))
        if moving is not None:
            mine = {
                (a.start, a.end)
                for a in await self.calendar.appointments(
                    start - timedelta(days=1), start + timedelta(days=1)
                )
                if a.id == moving
            }
            busy = [b for b in busy if (b.start, b.end) not in mine]
        if not is_free(start, minutes, busy, self.now(), self.hours):
            raise SlotTaken("that time is no longer free")

    def _failed(self, operation: str, source: str, error: CalendarError) -> None:
        outcome = _outcome(error)
        APPOINTMENTS.labels(operation, outcome).inc()
        level = logging.INFO if outcome in ("taken", "not_found") else logging.WARNING
        log.log(
            level,
            "APPOINTMENT_FAILED conversation=%s operation=%s outcome=%s error=%s",
            source,
            operation,
            outcome,
            error.message,
        )
