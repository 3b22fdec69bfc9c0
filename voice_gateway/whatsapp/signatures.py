"""The sidecar's webhook signature: `X-WA-Signature: v1=<hex HMAC-SHA256(secret, "<ts>." + raw body)>`."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-WA-Signature"
TIMESTAMP_HEADER = "X-WA-Timestamp"
EVENT_ID_HEADER = "X-WA-Event-Id"
REPLAY_WINDOW_S = 300


def sign_bridge_webhook(secret: str, timestamp: int, raw_body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def bridge_signature_problem(
    secret: str, timestamp_header: str | None, signature_header: str | None, raw_body: bytes, now: float
) -> str | None:
    """None when the request is authentic and fresh; otherwise why it is not."""
    if not timestamp_header:
        return f"missing {TIMESTAMP_HEADER} header"
    if not signature_header:
        return f"missing {SIGNATURE_HEADER} header"
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return f"{TIMESTAMP_HEADER} is not unix seconds"
    # A captured request replayed later must not pass, even with a valid signature.
    if abs(now - timestamp) > REPLAY_WINDOW_S:
        return f"{TIMESTAMP_HEADER} is more than {REPLAY_WINDOW_S} s from now"
    expected = sign_bridge_webhook(secret, timestamp, raw_body)
    # Several v1= values are allowed so the secret can be rotated without downtime.
    offered = [part.strip() for part in signature_header.replace(",", " ").split() if part.strip()]
    if any(hmac.compare_digest(expected, candidate) for candidate in offered):
        return None
    return f"invalid {SIGNATURE_HEADER}"
