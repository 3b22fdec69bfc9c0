"""Persistence for the gateway: one async data layer over SQLite or PostgreSQL."""

from __future__ import annotations

# Imported here so that whoever imports the schema has these tables in its metadata too.
from voice_gateway.storage import cluster_tables as cluster_tables
from voice_gateway.storage.store import KeyTaken, SendKey, Store
from voice_gateway.storage.store_base import StatusOutcome

__all__ = ["KeyTaken", "SendKey", "StatusOutcome", "Store"]
