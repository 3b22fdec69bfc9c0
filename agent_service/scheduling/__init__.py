"""Availability and dates as callers say them: pure functions of the knowledge's opening hours, busy time
from the calendar and an injected clock (`now`), so every rule is tested without a server or a wait."""

from __future__ import annotations

from agent_service.scheduling.phrases import say_day, say_slot, slots_in
from agent_service.scheduling.slots import Interval, Offer, find_slots, is_free, search_range
from agent_service.scheduling.when import DateProblem, WhenAsked, understand_when

__all__ = [
    "DateProblem",
    "Interval",
    "Offer",
    "WhenAsked",
    "find_slots",
    "is_free",
    "say_day",
    "say_slot",
    "search_range",
    "slots_in",
    "understand_when",
]
