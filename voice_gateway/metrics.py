"""Prometheus counters for the gateway: everything refused, dropped or malformed is counted here."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WEBHOOKS = Counter("agentlocator_webhook_requests", "Twilio webhook requests answered", ["route", "status"])
SIGNATURE_FAILURES = Counter(
    "agentlocator_signature_failures",
    "Requests refused for a missing or invalid Twilio signature",
    ["surface"],
)
WS_CONNECTIONS = Counter(
    "agentlocator_ws_connections", "Media Stream WebSockets accepted", ["mode", "subprotocol"]
)
WS_ACTIVE = Gauge("agentlocator_ws_active", "Media Stream WebSockets open now")
WS_FRAMES = Counter("agentlocator_ws_frames", "Media Stream frames", ["direction"])
WS_BAD_FRAMES = Counter("agentlocator_ws_bad_frames", "Inbound frames that could not be used", ["kind"])
WS_PROTOCOL_VIOLATIONS = Counter(
    "agentlocator_ws_protocol_violations", "Streams closed with 1008 for breaking the protocol", ["reason"]
)
WS_GAPS = Counter("agentlocator_ws_media_gaps", "Inbound media chunks missing from the sequence")
CALLS = Counter("agentlocator_calls", "Calls by how their stream ended", ["outcome"])
