"""Incoming WhatsApp webhooks: Twilio's (form, X-Twilio-Signature) and the sidecar's (JSON, HMAC).

Both answer 2xx only once the event is stored; a redelivery answers 200 and stores nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from quart import Blueprint, Response, request

from voice_gateway.errors import GatewayStopped
from voice_gateway.settings import Settings, WhatsAppProvider
from voice_gateway.storage.database import now_iso
from voice_gateway.twilio.signatures import TwilioSignatures, signed_request_problem
from voice_gateway.whatsapp import metrics
from voice_gateway.whatsapp.hub import Inbound, WhatsAppHub
from voice_gateway.whatsapp.model import E164, normalise_status
from voice_gateway.whatsapp.signatures import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    bridge_signature_problem,
)
from voice_gateway.whatsapp.unicode import replace_lone_surrogates

log = logging.getLogger("voice_gateway.whatsapp")

TWILIO_PATH = "/webhook/whatsapp/twilio"
BAILEYS_PATH = "/webhook/whatsapp/baileys"
# Twilio puts this on every webhook delivery; a retry carries the same token.
TWILIO_IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"


def register_webhooks(
    blueprint: Blueprint,
    settings: Settings,
    hub: Callable[[], WhatsAppHub],
    start_reply: Callable[[Any], None],
) -> None:
    signatures = TwilioSignatures(settings.twilio_auth_token) if settings.twilio_auth_token else None

    def refuse(provider: str, status: int, outcome: str, detail: str) -> Response:
        metrics.WA_WEBHOOKS.labels(provider, outcome).inc()
        log.warning("WHATSAPP_WEBHOOK_REFUSED provider=%s status=%d reason=%s", provider, status, detail)
        return Response(detail + "\n", status=status, content_type="text/plain")

    @blueprint.post(TWILIO_PATH)
    async def twilio_webhook() -> Response:
        if signatures is None:
            return refuse(
                "twilio", 503, "not_configured", "TWILIO_AUTH_TOKEN is not set: unsigned webhooks refused"
            )
        form = await request.form
        problem = await signed_request_problem(signatures, settings.public_base_url)
        if problem is not None:
            return refuse("twilio", 403, "bad_signature", problem)
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
        if not sid:
            return refuse("twilio", 400, "bad_request", "MessageSid is required")
        raw_status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if raw_status and raw_status != "received":
            status = normalise_status(WhatsAppProvider.TWILIO, raw_status)
            if status is None:
                return refuse("twilio", 400, "bad_request", f"unknown MessageStatus {raw_status!r}")
            event_id = request.headers.get(TWILIO_IDEMPOTENCY_HEADER) or f"{sid}:{raw_status}"
            outcome = await hub().status_report(
                WhatsAppProvider.TWILIO,
                sid,
                raw_status,
                status,
                form.get("ErrorCode") or None,
                now_iso(),
                event_id,
            )
            metrics.WA_WEBHOOKS.labels("twilio", f"status_{outcome.value}").inc()
            return Response("", status=200)
        contact = (form.get("From") or "").removeprefix("whatsapp:")
        if not E164.fullmatch(contact):
            return refuse("twilio", 400, "bad_request", "From must be whatsapp:+E164")
        media = [
            {"url": form.get(f"MediaUrl{i}"), "mimetype": form.get(f"MediaContentType{i}")}
            for i in range(_int(form.get("NumMedia")))
        ]
        stored = await hub().receive(
            Inbound(
                provider=WhatsAppProvider.TWILIO,
                provider_id=sid,
                contact=contact,
                text=form.get("Body") or None,
                media={"items": media} if media else None,
                sent_at=None,
                push_name=form.get("ProfileName"),
                event_id=request.headers.get(TWILIO_IDEMPOTENCY_HEADER),
            )
        )
        metrics.WA_WEBHOOKS.labels("twilio", "stored" if stored else "duplicate").inc()
        if stored is not None and stored.text:
            start_reply(stored)
        # Twilio reads the answer as TwiML; an empty <Response/> sends nothing back by itself.
        return Response("<Response/>", status=200, content_type="text/xml; charset=utf-8")

    @blueprint.post(BAILEYS_PATH)
    async def baileys_webhook() -> Response | tuple[dict[str, Any], int]:
        secret = settings.bridge_webhook_secret
        if not secret:
            # 5xx, so the sidecar keeps the event in its outbox until the gateway is configured.
            return refuse("baileys", 503, "not_configured", "BRIDGE_WEBHOOK_SECRET is not set")
        raw = await request.get_data(as_text=False, parse_form_data=False)
        assert isinstance(raw, bytes)
        problem = bridge_signature_problem(
            secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            raw,
            time.time(),
        )
        if problem is not None:
            return refuse("baileys", 401, "bad_signature", problem)
        try:
            current = hub()
        except GatewayStopped:  # the gateway is stopping: a 5xx keeps the event in the sidecar's outbox
            return refuse("baileys", 503, "stopping", "the gateway is stopping; send it again")
        try:
            envelope = json.loads(raw)
            kind, data = envelope["type"], envelope["data"]
            event_id = _bounded(envelope.get("id") or request.headers.get(EVENT_ID_HEADER), "id")
            if not isinstance(data, dict):
                raise TypeError("data is not an object")
        except (ValueError, KeyError, TypeError, RecursionError, Malformed) as exc:
            return refuse("baileys", 400, "bad_request", f"malformed event: {exc!r}")
        data, repaired = replace_lone_surrogates(data)
        if repaired:
            # WhatsApp clients can send half an emoji; dropping the message would lose the customer's words.
            metrics.WA_INVALID_UNICODE.labels("webhook").inc(repaired)
            log.warning("WHATSAPP_TEXT_REPAIRED event=%s lone_surrogates=%d", event_id or "-", repaired)
        try:
            # Storage errors are not caught here: a 5xx keeps the event in the sidecar's outbox.
            return await _bridge_event(current, str(kind), data, event_id, start_reply)
        except Malformed as exc:
            return refuse("baileys", 400, "bad_request", f"malformed event: {exc}")


class Malformed(Exception):
    """A signed sidecar event that breaks the contract: a 400, so the sidecar dead-letters it."""


# The columns these go into are VARCHAR(128): longer would fail on PostgreSQL as a 5xx, retried forever.
_MAX_ID = 128


def _bounded(value: Any, name: str, required: bool = False, limit: int = _MAX_ID) -> str | None:
    if value is None or value == "":
        if required:
            raise Malformed(f"data.{name} is required")
        return None
    if not isinstance(value, (str, int)) or len(str(value)) > limit:
        raise Malformed(f"{name}: expected a string of at most {limit} characters")
    return str(value)


def _optional(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        raise Malformed(f"data.{name}: expected {kind.__name__} or null")
    return value


async def _bridge_event(
    hub: WhatsAppHub,
    kind: str,
    data: dict[str, Any],
    event_id: str | None,
    start_reply: Callable[[Any], None],
) -> tuple[dict[str, Any], int]:
    provider = WhatsAppProvider.BAILEYS
    if kind == "message.received":
        contact = _bounded(data.get("from") or data.get("from_lid") or data.get("chat"), "from", True)
        message_id = _bounded(data.get("id"), "id", True)
        assert contact is not None and message_id is not None
        stored = await hub.receive(
            Inbound(
                provider=provider,
                provider_id=message_id,
                contact=contact,
                text=_optional(data, "text", str),
                media=_optional(data, "media", dict),
                sent_at=_optional(data, "timestamp", str),
                push_name=_optional(data, "push_name", str),
                event_id=event_id,
            )
        )
        metrics.WA_WEBHOOKS.labels("baileys", "stored" if stored else "duplicate").inc()
        if stored is not None and stored.text and not data.get("is_group") and E164.fullmatch(contact):
            start_reply(stored)
        return {"stored": stored is not None, "duplicate": stored is None}, 200
    if kind == "message.status":
        raw_status = str(_bounded(data.get("status"), "status", True, 64))
        status = normalise_status(provider, raw_status)
        if status is None:
            raise Malformed(f"unknown status {raw_status[:40]!r}")
        message_id = _bounded(data.get("id"), "id", True)
        assert message_id is not None
        outcome = await hub.status_report(
            provider,
            message_id,
            raw_status,
            status,
            _bounded(data.get("error_code"), "error_code", limit=64),
            _bounded(data.get("at"), "at", limit=40) or now_iso(),
            event_id,
        )
        metrics.WA_WEBHOOKS.labels("baileys", f"status_{outcome.value}").inc()
        return {"outcome": outcome.value, "duplicate": outcome.value == "duplicate"}, 200
    if kind == "session.status":
        first = await hub.store.mark_event_seen(provider, event_id) if event_id else True
        state, reason = _loggable(data.get("state"), 40), _loggable(data.get("reason") or "-", 200)
        log.info("WHATSAPP_SESSION state=%s reason=%s", state, reason)
        metrics.WA_WEBHOOKS.labels("baileys", "session").inc()
        return {"duplicate": not first}, 200
    raise Malformed(f"unknown event type {kind[:40]!r}")


def _loggable(value: Any, limit: int) -> str:
    # One event, one log line: control characters (a forged newline) are written escaped.
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(value)[:limit])


def _int(raw: str | None) -> int:
    try:
        return max(0, min(int(raw or 0), 10))
    except ValueError:
        return 0
