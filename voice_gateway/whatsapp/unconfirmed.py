"""Sends whose outcome nobody told us: the provider never answered (it died mid-send, or timed out), so
the message is `queued` with no provider id, and no status report can find it.

Each is settled by asking the provider what became of it, by the key it was sent with (our message id):
the sidecar remembers every key it reserved an id for (`GET /v1/sends/:key`). What it says decides:

- never handed to WhatsApp: `failed`, `send_lost`, at once;
- accepted, or receipts since show it sent, delivered or read, or failed: the provider id is attached and
  that status applied (with any reports that arrived while the id was unknown);
- still running there, or unconfirmed, or the provider cannot tell (Twilio, or no answer): left as it is
  until `WHATSAPP_UNCONFIRMED_SEND_TIMEOUT_S` after it was made, then `failed`, `send_unconfirmed`. The
  provider id stays attached when known, so a late receipt of delivery still moves it on.

A refresh (`GET /api/whatsapp/messages/{id}?refresh=true`) settles one message; `sweep_forever` settles
the rest in the background. Sends this process is making right now are never touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from voice_gateway.errors import GatewayStopped
from voice_gateway.whatsapp import metrics
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import Direction, Message, Status
from voice_gateway.whatsapp.service import ProviderError, SendLookup, SendState

log = logging.getLogger("voice_gateway.whatsapp")

SWEEP_INTERVAL_S = 30.0
SWEEP_BATCH = 100


def unresolved(message: Message) -> bool:
    return (
        message.direction is Direction.OUTBOUND
        and message.status is Status.QUEUED
        and message.provider_id is None
    )


async def settle(hub: WhatsAppHub, message: Message, unconfirmed_after_s: float, now: datetime) -> Message:
    """Ask the provider about one unresolved send and record what it knows; the message as it is now."""
    if not unresolved(message) or message.id in hub.sending:
        return message
    service = hub.services.get_whatsapp_service(message.provider)
    try:
        found = await service.find_send(message.id)
    except ProviderError as exc:
        log.info("WHATSAPP_SEND_LOOKUP_FAILED id=%s code=%s", message.id, exc.code)
        found = SendLookup(SendState.UNKNOWN)
    overdue = now - datetime.fromisoformat(message.created_at) >= timedelta(seconds=unconfirmed_after_s)
    result = await _record(hub, message, found, overdue)
    if result is None:
        return message
    metrics.WA_SENDS_SETTLED.labels(message.provider.value, result).inc()
    log.warning(
        "WHATSAPP_SEND_SETTLED id=%s provider=%s result=%s state=%s provider_id=%s",
        message.id,
        message.provider.value,
        result,
        found.state.value,
        found.provider_id or "-",
    )
    return await hub.store.get(message.id) or message


async def _record(hub: WhatsAppHub, message: Message, found: SendLookup, overdue: bool) -> str | None:
    """Store what `found` proves about `message`: the result's name, or None when nothing is known yet."""
    store, provider, remote = hub.store, message.provider, found.remote
    if found.state is SendState.NOT_SENT:
        await store.note_rejection(message.id, provider, "send_lost", None, "not_sent")
        return "lost"
    went_somewhere = remote is not None and (
        found.state is SendState.ACCEPTED or remote.status is not Status.QUEUED
    )
    if found.provider_id and remote is not None and went_somewhere:
        status, raw, code = remote.status, remote.raw_status, remote.error_code
        await store.mark_accepted(message.id, provider, found.provider_id, status, raw, code)
        return "failed" if status is Status.FAILED else "accepted"
    if found.state is SendState.IN_FLIGHT or not overdue:
        return None
    if found.provider_id:
        # Attached even so: a late receipt of delivery still moves it past `failed`.
        status, raw, code = Status.FAILED, "unconfirmed", "send_unconfirmed"
        await store.mark_accepted(message.id, provider, found.provider_id, status, raw, code)
    else:
        await store.note_rejection(message.id, provider, "send_unconfirmed", None, "unconfirmed")
    return "unconfirmed"


async def sweep(hub: WhatsAppHub, grace_s: float, unconfirmed_after_s: float, now: datetime) -> int:
    """Settle what can be settled among the sends older than `grace_s`; how many changed."""
    before = (now - timedelta(seconds=grace_s)).isoformat(timespec="microseconds")
    changed = 0
    for message in await hub.store.unresolved_sends(before, SWEEP_BATCH):
        settled = await settle(hub, message, unconfirmed_after_s, now)
        changed += settled is not message
    return changed


async def sweep_forever(hub: Callable[[], WhatsAppHub], grace_s: float, unconfirmed_after_s: float) -> None:
    """Every `SWEEP_INTERVAL_S` until cancelled or the gateway stops; a failed sweep is logged, not fatal."""
    while True:
        await asyncio.sleep(SWEEP_INTERVAL_S)
        try:
            await sweep(hub(), grace_s, unconfirmed_after_s, datetime.now(UTC))
        except GatewayStopped:
            return
        except Exception:
            log.exception("WHATSAPP_SWEEP_FAILED")
