"""Abuse limits wired into the Quart app: `/api/` rate limits per bearer token, and a penalty box for
client addresses that keep failing Twilio's signature check (the call cap is `calls/limits.py`).

Only a token that is valid (API_TOKEN or a PAYMENTS_API_TOKENS entry) has a bucket of its own; any other
request to `/api/` is counted against its client address, so inventing a new token per request buys no
fresh bucket, and a guesser is throttled while the real token's holder is not.

The arithmetic lives in `limits/buckets.py` (sans-IO); this module only picks the keys, answers `429` with
`Retry-After`, logs and counts. Request size limits are elsewhere: `MAX_CONTENT_LENGTH` (app.py) for
bodies and `MAX_WS_FRAME_BYTES` plus Hypercorn's `websocket_max_message_size` for frames.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter
from quart import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from voice_gateway.limits.buckets import ALLOWED, Decision, FailureLimiter, RateLimiter
from voice_gateway.limits.shared import SharedLimits
from voice_gateway.settings import Settings
from voice_gateway.twilio.twiml import STREAM_ENDED_PATH, STREAM_STATUS_PATH
from voice_gateway.whatsapp.webhooks import TWILIO_PATH

log = logging.getLogger("voice_gateway.limits.http_guard")

RATE_LIMITED = Counter("agentlocator_rate_limited", "Requests refused with 429", ["surface"])
SIGNATURE_BLOCKS = Counter(
    "agentlocator_signature_failure_blocks",
    "Client addresses put in the penalty box for too many failed Twilio signatures",
)

# Routes that check X-Twilio-Signature and answer 403 when it fails.
TWILIO_SIGNED_PATHS = frozenset({"/incoming_call", STREAM_STATUS_PATH, STREAM_ENDED_PATH, TWILIO_PATH})
API_PREFIX = "/api/"
SIGNATURE_BLOCK_TEXT = "too many failed signature checks from this address"


class AbuseGuard:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        per_token = settings.api_rate_limit_per_minute
        per_address = settings.signature_failure_limit_per_minute
        self.api_limiter = RateLimiter(per_token) if per_token else None
        self._valid_api_keys = frozenset(
            _token_key(token) for token in (settings.api_token, *settings.payments_api_tokens) if token
        )
        self.signature_limiter = FailureLimiter(per_address) if per_address else None
        # Set while serving when several gateways share PostgreSQL: the buckets live there instead.
        self.shared: SharedLimits | None = None

    def address_of(self, peer: str | None, forwarded_for: str | None) -> str:
        # X-Forwarded-For is whatever the client typed unless a proxy we trust overwrote it.
        if self.settings.trust_proxy_headers and forwarded_for:
            first = forwarded_for.split(",", 1)[0].strip()
            if first:
                return first
        return peer or "unknown"

    def client_address(self) -> str:
        return self.address_of(request.remote_addr, request.headers.get("X-Forwarded-For"))

    async def signature_block(self, address: str, surface: str) -> Decision:
        """Whether `address` is in the penalty box; a refusal is counted and logged here."""
        if self.signature_limiter is None:
            return ALLOWED
        if self.shared is not None:
            decision = await self.shared.blocked(address)
        else:
            decision = self.signature_limiter.check(address, self._clock())
        if not decision.allowed:
            RATE_LIMITED.labels("signature_failures").inc()
            log.warning(
                "RATE_LIMITED surface=signature_failures address=%s at=%s retry_after=%s",
                address,
                surface,
                decision.retry_after_header,
            )
        return decision

    async def signature_failed(self, address: str) -> None:
        if self.signature_limiter is None:
            return
        if self.shared is not None:
            boxed = await self.shared.failed(address, self.settings.signature_failure_limit_per_minute)
        else:
            boxed = self.signature_limiter.record_failure(address, self._clock())
        if boxed:
            SIGNATURE_BLOCKS.inc()
            log.warning(
                "SIGNATURE_FAILURES_BLOCKED address=%s limit_per_minute=%d",
                address,
                self.settings.signature_failure_limit_per_minute,
            )

    def _api_key(self) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            key = _token_key(token.strip())
            if key in self._valid_api_keys:
                return key
        return "address:" + self.client_address()

    async def before_request(self) -> Response | None:
        path = request.path
        length = request.content_length
        if length is not None and length > self.settings.max_body_bytes:
            # Refused from the header alone, on every route, including those that never read a body.
            raise RequestEntityTooLarge()
        if self.api_limiter is not None and path.startswith(API_PREFIX):
            key = self._api_key()
            if self.shared is not None:
                decision = await self.shared.take(key, self.settings.api_rate_limit_per_minute)
            else:
                decision = self.api_limiter.check(key, self._clock())
            if not decision.allowed:
                RATE_LIMITED.labels("api").inc()
                by = "token" if key.startswith("token:") else "address"
                log.warning(
                    "RATE_LIMITED surface=api by=%s path=%s retry_after=%s",
                    by,
                    path,
                    decision.retry_after_header,
                )
                return _too_many(decision, "api", f"too many /api/ requests for this {by}")
        if path in TWILIO_SIGNED_PATHS:
            decision = await self.signature_block(self.client_address(), path)
            if not decision.allowed:
                return _too_many(decision, "webhook", SIGNATURE_BLOCK_TEXT)
        return None

    async def after_request(self, response: Response) -> Response:
        if response.status_code == 403 and request.path in TWILIO_SIGNED_PATHS:
            await self.signature_failed(self.client_address())
        return response


def _token_key(token: str) -> str:
    # Only a digest is kept in memory: the limiter's keys are not secrets.
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


def _too_many(decision: Decision, surface: str, text: str) -> Response:
    if surface == "api":
        body = json.dumps({"error": {"code": "rate_limited", "message": text}})
        response = Response(body, status=429, content_type="application/json")
    else:
        response = Response(text + "\n", status=429, content_type="text/plain")
    response.headers["Retry-After"] = decision.retry_after_header
    return response
