"""Errors that cross the gateway's layers (a leaf module: it imports nothing of the gateway)."""

from __future__ import annotations


class GatewayStopped(RuntimeError):
    """A part that lives only while the gateway serves was asked for before start-up or after shutdown.

    Routes answer it with 503, so a sender (Twilio, the Baileys sidecar) retries instead of losing data."""
