"""What the console's pages read from the running gateway: live calls, the QR's identity, the greeting."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import yaml

from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.whatsapp.baileys import BaileysService
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.service import ProviderError

LIVE_POLL_S = 0.5  # how often the live-calls stream looks for news
LIVE_KEEPALIVE_S = 15.0


def greeting_of(text: str) -> str:
    """The knowledge file's greeting, or "" when it has none (the agent's loader owns validation)."""
    try:
        parsed = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return ""
    greeting = parsed.get("greeting") if isinstance(parsed, dict) else None
    return greeting.strip() if isinstance(greeting, str) else ""


async def qr_fingerprint(hub: WhatsAppHub) -> str | None:
    """A short fingerprint of the waiting QR code, so the page reloads the image only when it rotates."""
    bridge = hub.services.get_whatsapp_service("baileys")
    assert isinstance(bridge, BaileysService)
    try:
        upstream = await bridge.qr(as_json=True)
    except ProviderError:
        return None
    if upstream.status_code != 200:
        return None
    try:
        code = str(upstream.json()["qr"])
    except (ValueError, KeyError, TypeError):
        return None
    return hashlib.sha256(code.encode()).hexdigest()[:16]


async def live_snapshot(ai: AiMode | None) -> list[dict[str, Any]]:
    return [] if ai is None else await ai.registry.live_calls()


async def live_events(ai: AiMode | None) -> AsyncIterator[bytes]:
    # Looked at again on news: every LIVE_POLL_S in one process, on another gateway's event when several
    # share PostgreSQL (calls/registry.py `news`).
    last = ""
    quiet_since = time.monotonic()
    while True:
        current = json.dumps(await live_snapshot(ai))
        if current != last:
            last = current
            quiet_since = time.monotonic()
            yield f"data: {current}\n\n".encode()
        elif time.monotonic() - quiet_since > LIVE_KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield b": keep-alive\n\n"
        if ai is None:
            await asyncio.sleep(LIVE_POLL_S)
        else:
            await ai.registry.news(LIVE_POLL_S)
