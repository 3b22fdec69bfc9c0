"""Opening hours and zones shared by the scheduling tests."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from agent_service.knowledge.opening import BookingRules, OpeningHours

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAY = ((time(8, 30), time(18)),)


def clinic_hours(**rules: int) -> OpeningHours:
    """The demo clinic: weekdays 8:30-18:00, Saturday 9-13, closed Sunday."""
    weekly = (WEEKDAY,) * 5 + (((time(9), time(13)),), ())
    return OpeningHours("Europe/London", weekly, frozenset(), BookingRules(**rules))
