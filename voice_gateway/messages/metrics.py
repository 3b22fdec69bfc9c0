"""Prometheus counters for owner messages: every message stored (or seen again), every notification
outcome, every refusal of the API."""

from __future__ import annotations

from prometheus_client import Counter

OWNER_MESSAGES = Counter(
    "agentlocator_owner_messages",
    "Messages the agent handed over, by channel and result (stored, duplicate, failed)",
    ["channel", "result"],
)
OWNER_NOTIFICATIONS = Counter(
    "agentlocator_owner_notifications",
    "The owner's WhatsApp notifications by outcome (sent, retry, failed)",
    ["result"],
)
MESSAGES_API = Counter("agentlocator_messages_api", "/api/messages requests answered", ["route", "status"])
