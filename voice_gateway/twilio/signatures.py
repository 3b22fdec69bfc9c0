"""Who may talk to us: Twilio's request signatures (through Twilio's own validator) and per-call tokens.

Every Twilio surface checks here: the voice webhooks and the WhatsApp webhook (`signed_request_problem`),
the Media Streams upgrade (`TwilioSignatures.problem` over its `wss://` URL). The upgrade's signature
covers only the URL, the same for every call, so the stream's `start` must also carry the call's own
`StreamToken` (`call_token`): bound to the CallSid, and expiring. Addresses that keep failing
go to the penalty box in `limits/http_guard.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any

from quart import request
from twilio.request_validator import RequestValidator, get_signature_algorithm

from voice_gateway.twilio.public_url import HeaderLookup, public_base_url

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
# Gateways that share CALL_TOKEN_SECRET may disagree this much about the time.
CALL_TOKEN_CLOCK_SKEW_S = 30
_CALL_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{64})")


class TwilioSignatures:
    """Checks `X-Twilio-Signature` over the public URL Twilio requested; returns a reason on failure."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def problem(self, url: str, params: Mapping[str, Any] | str, headers: HeaderLookup) -> str | None:
        signature = headers.get(SIGNATURE_HEADER)
        if not signature:
            return f"missing {SIGNATURE_HEADER} header"
        algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER))
        if self._validator.validate(url, params, signature, algorithm):
            return None
        # Proxies that add or drop a trailing slash are the commonest cause of a false mismatch.
        alternate = url[:-1] if url.endswith("/") else url + "/"
        if "?" not in url and self._validator.validate(alternate, params, signature, algorithm):
            return None
        return f"invalid {SIGNATURE_HEADER} for {url}"

    def sign(self, url: str, params: Mapping[str, Any]) -> str:
        return str(self._validator.compute_signature(url, params))


def call_token(secret: str, call_sid: str, issued_at: int | None = None) -> str:
    """The token we hand Twilio in `<Parameter>` and expect back in `start.customParameters`:
    `<issued_at>.<hex HMAC-SHA256 of issued_at and the CallSid>`, so it names its own age and a captured
    one stops working after CALL_TOKEN_TTL_S."""
    issued = int(time.time()) if issued_at is None else issued_at
    return f"{issued}.{_call_mac(secret, call_sid, issued)}"


def call_token_problem(
    secret: str, call_sid: str, token: str, ttl_s: float, now: float | None = None
) -> str | None:
    """None when `token` is ours, for `call_sid`, and younger than `ttl_s`; else what is wrong with it."""
    match = _CALL_TOKEN.fullmatch(token)
    if match is None:
        return "start.customParameters.StreamToken is malformed"
    issued = int(match.group(1))
    if not hmac.compare_digest(_call_mac(secret, call_sid, issued), match.group(2)):
        return "start.customParameters.StreamToken does not match the CallSid"
    age = (time.time() if now is None else now) - issued
    if age > ttl_s:
        return (
            f"start.customParameters.StreamToken expired {age - ttl_s:.0f}s ago (CALL_TOKEN_TTL_S={ttl_s:g})"
        )
    if age < -CALL_TOKEN_CLOCK_SKEW_S:
        return "start.customParameters.StreamToken was issued in the future"
    return None


def _call_mac(secret: str, call_sid: str, issued_at: int) -> str:
    # issued_at is all digits, so the first "." separates it from any CallSid unambiguously.
    message = f"{issued_at}.{call_sid}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def signed_request_problem(signatures: TwilioSignatures, configured_base_url: str | None) -> str | None:
    """Check the Quart request being served: the URL Twilio called (query included) and its form."""
    url = public_base_url(configured_base_url, request.headers, request.scheme) + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    params = await request.form if request.method == "POST" else {}
    return signatures.problem(url, params, request.headers)
