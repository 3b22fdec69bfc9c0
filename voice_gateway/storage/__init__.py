"""Persistence for the gateway: one async data layer over SQLite or PostgreSQL."""

from __future__ import annotations

from voice_gateway.storage.store import StatusOutcome, Store

__all__ = ["StatusOutcome", "Store"]
