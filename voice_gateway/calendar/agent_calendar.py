"""ListAppointments, CancelAppointment and CalendarFeed over the gateway's one channel to the agent, with
a deadline, their failures turned into three plain outcomes the pages can say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import grpc
from agentlocator.agent.v1 import agent_pb2

from voice_gateway.agent_client import AgentClient

TIMEOUT_S = 15.0  # the agent's own calendar timeout (CALENDAR_TIMEOUT_S, 10 s) fits inside it


class CalendarProblem(Exception):
    """The agent could not answer: `status` is the HTTP status to show (404 off/not found, 503 down)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Booked:
    id: str
    start: datetime  # in the business's zone
    end: datetime
    name: str
    phone: str
    service: str
    source: str
    channel: str


def _problem(exc: grpc.aio.AioRpcError) -> CalendarProblem:
    code = exc.code()
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return CalendarProblem("booking is off: the knowledge file has no opening_hours", 404)
    if code == grpc.StatusCode.NOT_FOUND:
        return CalendarProblem("no such appointment (cancelled or moved meanwhile)", 404)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return CalendarProblem("the agent is older than this gateway and keeps no appointments", 503)
    return CalendarProblem(f"the agent's calendar could not be reached: {code.name}", 503)


def _booked(message: agent_pb2.Appointment) -> Booked:
    zone = ZoneInfo(message.timezone) if message.timezone else UTC
    return Booked(
        id=message.id,
        start=datetime.fromtimestamp(message.start_ms / 1000, zone),
        end=datetime.fromtimestamp(message.end_ms / 1000, zone),
        name=message.name,
        phone=message.phone,
        service=message.service,
        source=message.source,
        channel=message.channel,
    )


async def list_appointments(agent: AgentClient, start: datetime, end: datetime) -> tuple[list[Booked], str]:
    """The appointments starting in [start, end), and the calendar's kind (embedded, caldav)."""
    request = agent_pb2.ListAppointmentsRequest(
        from_ms=round(start.timestamp() * 1000), to_ms=round(end.timestamp() * 1000)
    )
    try:
        reply = await agent.stub().ListAppointments(request, timeout=TIMEOUT_S)
    except grpc.aio.AioRpcError as exc:
        raise _problem(exc) from None
    return [_booked(a) for a in reply.appointments], reply.calendar


async def cancel_appointment(agent: AgentClient, appointment_id: str) -> Booked:
    try:
        reply = await agent.stub().CancelAppointment(
            agent_pb2.CancelAppointmentRequest(id=appointment_id), timeout=TIMEOUT_S
        )
    except grpc.aio.AioRpcError as exc:
        raise _problem(exc) from None
    return _booked(reply)


async def calendar_feed(agent: AgentClient) -> str:
    try:
        reply = await agent.stub().CalendarFeed(agent_pb2.CalendarFeedRequest(), timeout=TIMEOUT_S)
    except grpc.aio.AioRpcError as exc:
        raise _problem(exc) from None
    return str(reply.ics)
