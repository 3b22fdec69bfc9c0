"""`/api/whatsapp/...`: the unified API, behind `Authorization: Bearer <API_TOKEN>`."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from quart import Blueprint, Response, request

from voice_gateway.api_responses import bearer_refusal, error, ok
from voice_gateway.settings import Settings
from voice_gateway.storage import KeyTaken, SendKey
from voice_gateway.whatsapp import metrics
from voice_gateway.whatsapp.baileys import BaileysService
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.service import ProviderError
from voice_gateway.whatsapp.unconfirmed import settle, unresolved
from voice_gateway.whatsapp.validation import BadUnicode, Invalid, parse_contact, parse_send

log = logging.getLogger("voice_gateway.whatsapp")

Handler = Callable[..., Awaitable[Response]]

IDEMPOTENCY_HEADER = "Idempotency-Key"
# What Stripe and the IETF draft allow in practice: a UUID, or any short token of visible ASCII.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
_KEY_RULE = "expected 1 to 200 visible ASCII characters, e.g. a UUID"


def register_api(blueprint: Blueprint, settings: Settings, hub: Callable[[], WhatsAppHub]) -> None:
    def guarded(route: str) -> Callable[[Handler], Handler]:
        def wrap(handler: Handler) -> Handler:
            @functools.wraps(handler)
            async def checked(*args: Any, **kwargs: Any) -> Response:
                response = bearer_refusal(settings.api_token) or await _answer(handler, *args, **kwargs)
                metrics.API_REQUESTS.labels(route, str(response.status_code)).inc()
                return response

            return checked

        return wrap

    async def _answer(handler: Handler, *args: Any, **kwargs: Any) -> Response:
        try:
            return await handler(*args, **kwargs)
        except BadUnicode as exc:
            metrics.WA_INVALID_UNICODE.labels("api").inc()
            log.warning("WHATSAPP_API_INVALID_UNICODE fields=%s", ",".join(sorted(exc.problems)))
            return error(400, "invalid_unicode", str(exc), fields=exc.problems)
        except Invalid as exc:
            return error(422, "invalid_request", str(exc), fields=exc.problems)

    async def json_body() -> Any:
        raw = await request.get_data(as_text=False)
        assert isinstance(raw, bytes)
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise _BadJson(f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            # `[[[[…` fits in MAX_BODY_BYTES and is deeper than json's recursion limit.
            raise _BadJson("the body is not valid JSON: nested too deeply") from None

    @blueprint.post("/api/whatsapp/messages")
    @guarded("send")
    async def send_message() -> Response:
        offered_key = request.headers.get(IDEMPOTENCY_HEADER)
        if offered_key is not None and not _IDEMPOTENCY_KEY.fullmatch(offered_key):
            return error(400, "invalid_idempotency_key", f"{IDEMPOTENCY_HEADER}: {_KEY_RULE}")
        try:
            body = await json_body()
        except _BadJson as exc:
            return error(400, "invalid_json", str(exc))
        parsed = parse_send(body)
        key = SendKey(offered_key, request_digest(body)) if offered_key else None
        try:
            outcome = await hub().send(parsed.message, parsed.provider, parsed.fallback, key)
        except KeyTaken as taken:
            return replay(taken)
        if outcome.error is not None:
            refused = error(
                outcome.error.http_status,
                outcome.error.code,
                outcome.error.message,
                accepted_possible=outcome.error.accepted_possible,
                record=outcome.message.as_json(),
            )
            if outcome.error.retry_after:
                refused.headers["Retry-After"] = outcome.error.retry_after
            return refused
        return ok(outcome.message.as_json(), 202)

    @blueprint.get("/api/whatsapp/messages")
    @guarded("list")
    async def list_messages() -> Response:
        contact = parse_contact(request.args.get("contact"))
        try:
            limit = int(request.args.get("limit", "100"))
        except ValueError:
            raise Invalid({"limit": "expected a whole number from 1 to 500"}) from None
        if not 1 <= limit <= 500:
            raise Invalid({"limit": "expected a whole number from 1 to 500"})
        found = await hub().store.list_for_contact(contact, limit)
        return ok({"contact": contact, "messages": [m.as_json() for m in found]})

    @blueprint.get("/api/whatsapp/messages/<message_id>")
    @guarded("get")
    async def get_message(message_id: str) -> Response:
        found = await hub().store.get(message_id)
        if found is None:
            return error(404, "not_found", f"no message {message_id}")
        refresh = request.args.get("refresh") in {"1", "true"}
        if refresh and unresolved(found):
            # Sent, but the provider never answered: ask it what became of the send (unconfirmed.py).
            deadline_s = settings.whatsapp_unconfirmed_send_timeout_s
            found = await settle(hub(), found, deadline_s, datetime.now(UTC))
        elif refresh and found.provider_id:
            service = hub().services.get_whatsapp_service(found.provider)
            try:
                remote = await service.status(found.provider_id)
            except ProviderError as exc:
                return error(exc.http_status, exc.code, exc.message, record=found.as_json())
            await hub().status_report(
                found.provider,
                found.provider_id,
                remote.raw_status,
                remote.status,
                remote.error_code,
                remote.at or found.updated_at,
                None,
            )
            found = await hub().store.get(message_id) or found
        return ok(found.as_json())

    @blueprint.post("/api/whatsapp/contacts/check")
    @guarded("check")
    async def check_contact() -> Response:
        try:
            body = await json_body()
        except _BadJson as exc:
            return error(400, "invalid_json", str(exc))
        if not isinstance(body, dict):
            raise Invalid({"body": "expected a JSON object"})
        phone = parse_contact(body.get("phone")) if "phone" in body else None
        if phone is None:
            raise Invalid({"phone": "required: an E.164 number such as +4915112345678"})
        try:
            service = hub().services.get_whatsapp_service(body.get("provider"))
        except ValueError:
            raise Invalid({"provider": "expected baileys or twilio"}) from None
        try:
            exists = await service.check_contact(phone)
        except ProviderError as exc:
            return error(exc.http_status, exc.code, exc.message)
        return ok({"phone": phone, "provider": service.provider.value, "exists": exists})

    @blueprint.get("/api/whatsapp/status")
    @guarded("status")
    async def provider_status() -> Response:
        services = hub().services
        providers = {s.provider.value: await s.describe() for s in services.all()}
        return ok({"default_provider": services.default.value, "providers": providers})

    @blueprint.get("/api/whatsapp/qr")
    @guarded("qr")
    async def qr() -> Response:
        bridge = hub().services.get_whatsapp_service("baileys")
        assert isinstance(bridge, BaileysService)
        try:
            upstream = await bridge.qr(as_json=request.args.get("format") == "json")
        except ProviderError as exc:
            return error(exc.http_status, exc.code, exc.message)
        content_type = upstream.headers.get("content-type", "application/octet-stream")
        return Response(upstream.content, status=upstream.status_code, content_type=content_type)


class _BadJson(Exception):
    pass


def request_digest(body: Any) -> str:
    """The same request is the same JSON value, whatever its key order or spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(taken: KeyTaken) -> Response:
    if not taken.same_request:
        metrics.WA_IDEMPOTENT_REPLAYS.labels("conflict").inc()
        return error(
            409,
            "idempotency_key_reused",
            f"this {IDEMPOTENCY_HEADER} was used for a different request (message {taken.message.id}); "
            "use a new key for a new message",
        )
    # The message the first request made, as it is now: never a second send.
    metrics.WA_IDEMPOTENT_REPLAYS.labels("replayed").inc()
    answer = ok(taken.message.as_json(), 200)
    answer.headers["Idempotent-Replayed"] = "true"
    return answer
