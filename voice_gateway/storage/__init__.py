"""Persistence for the gateway: one async data layer over SQLite or PostgreSQL."""

from __future__ import annotations

from voice_gateway.storage.store import KeyTaken, SendKey, Store
from voice_gateway.storage.store_base import StatusOutcome

__all__ = ["KeyTaken", "SendKey", "StatusOutcome", "Store"]
