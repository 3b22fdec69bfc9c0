"""Prometheus counters for the gateway: everything refused, dropped or malformed is counted here.

Every label value comes from a closed set fixed in the code (a route's name, an enum, a literal), never
from a request: a label a client can choose makes one time series per request, and memory and the
`/metrics` page grow until the process restarts.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OTHER = "other"

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
BROWSER_CALLS_REFUSED = Counter(
    "agentlocator_browser_calls_refused",
    "Console browser-call upgrades refused (401 not signed in, 403 other origin, 503 console off)",
    ["status"],
)
WS_GAPS = Counter("agentlocator_ws_media_gaps", "Inbound media chunks missing from the sequence")
CALLS = Counter("agentlocator_calls", "Calls by how their stream ended", ["outcome"])
WS_CLEANUP_FAILURES = Counter(
    "agentlocator_ws_cleanup_failures",
    "Steps of a stream's cleanup that raised (the others still ran)",
    ["step"],
)

AGENT_UNAVAILABLE = Counter(
    "agentlocator_agent_unavailable", "Calls answered with an apology: agent not ready"
)
AGENT_STREAM_FAILURES = Counter(
    "agentlocator_agent_stream_failures", "Converse streams lost mid-call", ["code"]
)
AGENT_STREAM_RESTARTS = Counter("agentlocator_grpc_stream_restarts", "Converse streams reopened mid-call")
AGENT_RTT = Histogram(
    "agentlocator_agent_rtt_seconds",
    "Gateway to agent application-level ping round trip",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
TRANSFERS = Counter("agentlocator_transfers", "Call transfers requested by the agent", ["result"])
PAYMENTS_REQUESTS = Counter(
    "agentlocator_payments_requests", "Requests to /api/payments/* by route and status", ["route", "status"]
)
CALL_LOG_FAILURES = Counter(
    "agentlocator_call_log_failures",
    "Writes of calls, transcripts or turn latencies to the database that failed",
    ["what"],
)
CALL_WHATSAPP = Counter(
    "agentlocator_call_whatsapp_messages",
    "WhatsApp messages the agent asked to send during calls",
    ["result"],
)
LIVE_FEEDS = Counter(
    "agentlocator_live_feeds",
    "Requests for a call's live feed (GET /calls/<CallSid>/live) by result: opened, forbidden, busy, full, "
    "ended, not_found",
    ["result"],
)
LIVE_FEED_EVENTS_DROPPED = Counter(
    "agentlocator_live_feed_events_dropped", "Live feed events dropped because their listener stopped reading"
)
GREETING_PREVIEWS = Counter(
    "agentlocator_console_greeting_previews",
    "Greeting recordings the console asked the agent for",
    ["result"],
)
CONNECTIONS_OPEN = Gauge("agentlocator_connections_open", "TCP connections open on the gateway's port")
CONNECTIONS_REFUSED = Counter(
    "agentlocator_connections_refused",
    "Connections closed on arrival because a cap was full (per_client, total, fd_limit)",
    ["reason"],
)
CONNECTION_TIMEOUTS = Counter(
    "agentlocator_connection_timeouts",
    "Connections closed for silence: a request head not finished in time, or keep-alive idle",
    ["phase"],
)


def route_label(endpoint: str | None) -> str:
    """The route label of a request Quart matched to `endpoint` (the view's name, which the app fixed
    when it registered its routes), or "other" for a path no route serves."""
    return endpoint.rpartition(".")[2] if endpoint else OTHER
