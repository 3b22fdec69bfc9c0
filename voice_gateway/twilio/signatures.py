"""Who may talk to us: Twilio's request signatures (through Twilio's own validator) and per-call tokens.

Every Twilio surface checks here: the voice webhooks and the WhatsApp webhook (`signed_request_problem`),
the Media Streams upgrade (`TwilioSignatures.problem` over its `wss://` URL). Addresses that keep failing
go to the penalty box in `limits/http_guard.py`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from quart import request
from twilio.request_validator import RequestValidator, get_signature_algorithm

from voice_gateway.twilio.public_url import HeaderLookup, public_base_url

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"


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


def call_token(secret: str, call_sid: str) -> str:
    """The token we hand Twilio in `<Parameter>` and expect back in `start.customParameters`."""
    return hmac.new(secret.encode(), call_sid.encode(), hashlib.sha256).hexdigest()


def call_token_matches(secret: str, call_sid: str, token: str) -> bool:
    return hmac.compare_digest(call_token(secret, call_sid), token)


async def signed_request_problem(signatures: TwilioSignatures, configured_base_url: str | None) -> str | None:
    """Check the Quart request being served: the URL Twilio called (query included) and its form."""
    url = public_base_url(configured_base_url, request.headers, request.scheme) + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    params = await request.form if request.method == "POST" else {}
    return signatures.problem(url, params, request.headers)
