"""ListAppointments, CancelAppointment and CalendarFeed: the agent's appointments as the gateway presents
them (its console's Bookings page, the owner's read-only iCalendar feed). The agent owns the calendar;
the gateway only ever sees it through these RPCs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentlocator.agent.v1 import agent_pb2

from agent_service.calendar import ics
from agent_service.calendar.appointments import Appointments
from agent_service.calendar.base import Appointment
from agent_service.errors import BookingOff, ProtocolError

MAX_RANGE = timedelta(days=366)
MAX_ID_CHARS = 256
FEED_PAST = timedelta(days=30)


def _on(appointments: Appointments | None) -> Appointments:
    if appointments is None:
        raise BookingOff("booking is off: the knowledge file has no opening_hours")
    return appointments


def to_message(appointment: Appointment, timezone: str) -> agent_pb2.Appointment:
    return agent_pb2.Appointment(
        id=appointment.id,
        start_ms=round(appointment.start.timestamp() * 1000),
        end_ms=round(appointment.end.timestamp() * 1000),
        timezone=timezone,
        name=appointment.name,
        phone=appointment.phone,
        service=appointment.service,
        source=appointment.source,
        channel=appointment.channel,
    )


async def list_appointments(
    appointments: Appointments | None, request: agent_pb2.ListAppointmentsRequest
) -> agent_pb2.ListAppointmentsResponse:
    on = _on(appointments)
    start = datetime.fromtimestamp(request.from_ms / 1000, UTC)
    end = datetime.fromtimestamp(request.to_ms / 1000, UTC)
    if end <= start or end - start > MAX_RANGE:
        raise ProtocolError("to_ms must be after from_ms and at most 366 days later")
    found = await on.calendar.appointments(start, end)
    zone = on.hours.timezone
    return agent_pb2.ListAppointmentsResponse(
        appointments=[to_message(a, zone) for a in found], timezone=zone, calendar=on.calendar.name
    )


async def cancel_appointment(
    appointments: Appointments | None, request: agent_pb2.CancelAppointmentRequest
) -> agent_pb2.Appointment:
    on = _on(appointments)
    if not request.id or len(request.id) > MAX_ID_CHARS:
        raise ProtocolError(f"id must be 1 to {MAX_ID_CHARS} characters")
    cancelled = await on.cancel(request.id, source="console")
    return to_message(cancelled, on.hours.timezone)


async def calendar_feed(appointments: Appointments | None) -> agent_pb2.CalendarFeedResponse:
    on = _on(appointments)
    now = on.now()
    found = await on.calendar.appointments(now - FEED_PAST, now + on.hours.horizon() + timedelta(days=1))
    return agent_pb2.CalendarFeedResponse(ics=ics.feed(found, name=f"{on.business}: appointments"))
