"""Prometheus counters for WhatsApp: every refusal, duplicate and failure is counted here."""

from __future__ import annotations

from prometheus_client import Counter

WA_SENDS = Counter("agentlocator_whatsapp_sends", "Outbound WhatsApp send attempts", ["provider", "result"])
WA_FALLBACKS = Counter(
    "agentlocator_whatsapp_fallbacks", "Sends moved to the other provider", ["from_provider"]
)
WA_WEBHOOKS = Counter(
    "agentlocator_whatsapp_webhooks", "WhatsApp webhooks by provider and outcome", ["provider", "outcome"]
)
WA_AUTO_REPLIES = Counter("agentlocator_whatsapp_auto_replies", "Auto-replies by outcome", ["result"])
API_REQUESTS = Counter("agentlocator_api_requests", "/api/whatsapp requests answered", ["route", "status"])
WA_INVALID_UNICODE = Counter(
    "agentlocator_whatsapp_invalid_unicode",
    "Lone UTF-16 surrogates: replaced in incoming events (webhook), refused in sends (api)",
    ["where"],
)

# What a failed send is counted as. Codes come from the sidecar's answers and Twilio's errors, which the
# gateway does not choose, so only these are labels (the full code is in the log line and the message).
SEND_RESULTS = frozenset(
    {
        # the gateway's own
        "bridge_unreachable",
        "bridge_timeout",
        "bridge_error",
        "bridge_unauthorized",
        "template_unsupported",
        "media_url_required",
        "unknown_status",
        "provider_not_configured",
        "twilio_unreachable",
        "twilio_error",
        # the sidecar's (baileys-bridge/src: ApiError codes)
        "invalid_request",
        "not_found",
        "not_on_whatsapp",
        "rate_limited",
        "send_failed",
        "send_timeout",
        "not_configured",
        "not_connected",
        "restricted",
        "too_large",
        "internal",
    }
)


def send_result(code: str) -> str:
    if code in SEND_RESULTS:
        return code
    # twilio_<error code> or twilio_http_<status>: thousands of possible values.
    return "twilio_api_error" if code.startswith("twilio_") else "other"


WA_SENDS_SETTLED = Counter(
    "agentlocator_whatsapp_sends_settled",
    "Sends whose outcome was unknown, settled later (accepted, failed, lost, unconfirmed)",
    ["provider", "result"],
)
WA_IDEMPOTENT_REPLAYS = Counter(
    "agentlocator_whatsapp_idempotent_replays",
    "Sends with an Idempotency-Key used before: answered with the first message, or refused as a conflict",
    ["result"],
)
