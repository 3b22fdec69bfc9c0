"""The business's calendar, which the agent owns: CalDAV when CALENDAR_URL is set, else the embedded one.

`build_appointments` builds them with a calendar of their own (the composition root shares one calendar
across knowledge versions instead); None when the knowledge has no opening hours (the agent then books
nothing and says so through its usual deferral).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from agent_service.calendar.appointments import Appointments
from agent_service.calendar.base import Appointment, Booking, Calendar
from agent_service.knowledge import Knowledge
from agent_service.settings import AgentSettings

__all__ = ["Appointment", "Appointments", "Booking", "Calendar", "build_appointments", "build_calendar"]


def build_calendar(settings: AgentSettings, zone: ZoneInfo) -> Calendar:
    """`zone` reads the owner's floating and all-day events (CalDAV)."""
    cal = settings.calendar
    if cal.url:
        from agent_service.calendar.caldav_calendar import CalDavCalendar

        return CalDavCalendar(cal.url, cal.username, cal.password, timeout_s=cal.timeout_s, zone=zone)
    from agent_service.calendar.embedded import EmbeddedCalendar, database_url

    return EmbeddedCalendar(database_url(cal.database_url, settings.data_dir), timeout_s=cal.timeout_s)


def business_knowledge(settings: AgentSettings, knowledge: Knowledge) -> Knowledge:
    """The knowledge with BUSINESS_TIMEZONE, when set, as its opening hours' zone."""
    zone = settings.calendar.business_timezone
    if not zone or knowledge.opening is None:
        return knowledge
    return dataclasses.replace(knowledge, opening=dataclasses.replace(knowledge.opening, timezone=zone))


def build_appointments(
    settings: AgentSettings, knowledge: Knowledge, now: Callable[[], datetime] | None = None
) -> Appointments | None:
    knowledge = business_knowledge(settings, knowledge)
    if knowledge.opening is None:
        return None
    calendar = build_calendar(settings, knowledge.opening.zone)
    return Appointments(calendar, knowledge, now) if now else Appointments(calendar, knowledge)
