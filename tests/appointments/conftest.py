"""The booking dialogue over a real calendar (embedded on SQLite; CalDAV on a loopback Radicale), with the
demo clinic's knowledge and a clock the test sets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent_service.brain.booking import BookingBrain
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.calendar.appointments import Appointments
from agent_service.calendar.base import Appointment, Calendar
from agent_service.calendar.embedded import EmbeddedCalendar, database_url
from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, load_knowledge
from tests.appointments.dialogue import Clock, Dialogue
from tests.calendar.conftest import radicale  # noqa: F401 (the loopback Radicale fixture, shared)

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2026, 11, 30, 9, 15, tzinfo=LONDON)  # Monday the 30th of November 2026, 9:15 am
KNOWLEDGE = load_knowledge(DEMO_KNOWLEDGE_FILE)


class Clinic:
    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.clock = Clock(MONDAY)
        self.appointments = Appointments(calendar, KNOWLEDGE, self.clock)
        self.brain = BookingBrain(ReceptionistBrain(KNOWLEDGE), self.appointments)

    def caller(self, number: str = "+447700900123", **kwargs: object) -> Dialogue:
        return Dialogue(self.brain, caller=number, **kwargs)  # type: ignore[arg-type]

    async def booked(self) -> list[Appointment]:
        start = datetime(2026, 11, 1, tzinfo=UTC)
        return await self.calendar.appointments(start, start + timedelta(days=120))


@pytest.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    calendar = EmbeddedCalendar(database_url("", tmp_path))
    await calendar.open()
    yield Clinic(calendar)
    await calendar.close()


ClinicFactory = Callable[[Calendar], Clinic]


def local(at: datetime) -> datetime:
    return at.astimezone(LONDON)
