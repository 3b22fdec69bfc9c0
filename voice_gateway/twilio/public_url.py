"""The URL Twilio used to reach us, which is what Twilio signs and what our TwiML must point back to."""

from __future__ import annotations

from typing import Protocol


class HeaderLookup(Protocol):
    """Case-insensitive header access, as Quart's and werkzeug's `Headers` provide."""

    def get(self, key: str) -> str | None: ...


def public_base_url(configured: str | None, headers: HeaderLookup, scheme: str) -> str:
    """`PUBLIC_BASE_URL` when set; otherwise the first hop of X-Forwarded-Proto/-Host, else Host.

    Behind ngrok or a TLS-terminating proxy the request reaches us as plain http on a private host, so
    without either the URLs we give Twilio would not be the ones it can call.
    """
    if configured:
        return configured
    proto = _first(headers.get("X-Forwarded-Proto")) or scheme
    if proto in {"ws", "wss"}:
        proto = "https" if proto == "wss" else "http"
    host = _first(headers.get("X-Forwarded-Host")) or headers.get("Host") or "localhost"
    return f"{proto}://{host}"


def websocket_url(base_url: str, path: str) -> str:
    """The `wss://` URL Twilio signs for the WebSocket upgrade: always wss, never a query string."""
    _, _, rest = base_url.partition("://")
    return f"wss://{rest}{path}"


def _first(value: str | None) -> str:
    return value.split(",")[0].strip() if value else ""
