"""What several gateways on one PostgreSQL share (voice_gateway/cluster/): who is alive, which gateway
carries which call, the console's sessions and the rate limits' buckets.

The tables exist on SQLite too (one schema for both), where nothing uses them: a single gateway keeps this
state in its own memory. Times here are seconds since the epoch by the database's clock, so gateways whose
clocks disagree still agree on who is late.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, String, Table

from voice_gateway.storage.schema import metadata

gateway_hosts = Table(
    "gateway_hosts",
    metadata,
    Column("gateway_id", String(128), primary_key=True),
    Column("seen_at", Float, nullable=False),
)

# A call's line: reserved by /incoming_call (until `reserved_until`), live once its stream has started on
# `gateway_id`; a live line lasts as long as its gateway's heartbeat.
gateway_lines = Table(
    "gateway_lines",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("gateway_id", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reserved_until", Float, nullable=False),
    Column("caller", String(128), nullable=False),
    Column("started_at", Float, nullable=False),
)
Index("ix_gateway_lines_gateway", gateway_lines.c.gateway_id)

# Looked up by a SHA-256 of the cookie, never the cookie itself.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)
Index("ix_console_sessions_expires", console_sessions.c.expires_at)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("blocked_until", Float),
)
Index("ix_rate_buckets_updated", rate_buckets.c.updated)
