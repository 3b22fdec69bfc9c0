"""Structured opening hours (agentlocator_common.knowledge.opening), where the agent's modules find them."""

from __future__ import annotations

from agentlocator_common.knowledge.opening import (
    WEEKDAYS,
    BookingRules,
    OpeningHours,
    Span,
    parse_day,
    parse_minutes,
    parse_spans,
    parse_zone,
)

__all__ = [
    "WEEKDAYS",
    "BookingRules",
    "OpeningHours",
    "Span",
    "parse_day",
    "parse_minutes",
    "parse_spans",
    "parse_zone",
]
