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
