"""The Baileys provider: the sidecar's HTTP API (baileys-bridge/), reached with httpx."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.whatsapp.model import OutgoingMessage, Status, normalise_status
from voice_gateway.whatsapp.service import (
    NotConfigured,
    ProviderError,
    RemoteStatus,
    SendLookup,
    SendReceipt,
    SendState,
)

# The sidecar's refusals that mean "not sent, and nothing was handed to WhatsApp".
_DEFINITE_REFUSALS = {400, 401, 409, 422, 429, 503}


class BaileysService:
    provider = WhatsAppProvider.BAILEYS

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout_s)

    async def close(self) -> None:
        await self.http.aclose()

    def _require_key(self) -> None:
        if not self._api_key:
            raise NotConfigured(self.provider, "BRIDGE_API_KEY")

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self._require_key()
        try:
            return await self.http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            # The TCP connection never opened, so the request cannot have reached WhatsApp.
            raise ProviderError("bridge_unreachable", f"{self.base_url}: {exc}", 503, False) from exc
        except httpx.TimeoutException as exc:
            # The sidecar may have sent it: never a reason to send again elsewhere.
            raise ProviderError("bridge_timeout", f"{self.base_url}: {exc!r}", 504, True) from exc
        except httpx.HTTPError as exc:
            raise ProviderError("bridge_error", f"{self.base_url}: {exc!r}", 502, True) from exc

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        if message.template is not None:
            raise ProviderError(
                "template_unsupported", "templates (content_sid) are sent through twilio only", 422, False
            )
        body: dict[str, Any] = {"to": message.to}
        if message.media is not None:
            media: dict[str, Any] = {"mimetype": message.media.mimetype, "filename": message.media.filename}
            media.update(url=message.media.url) if message.media.url else media.update(
                base64=message.media.base64
            )
            body.update(type=message.media.kind, media={k: v for k, v in media.items() if v is not None})
            if message.text:
                body["caption"] = message.text
        else:
            body.update(type="text", text=message.text)
        response = await self._call(
            "POST", "/v1/messages", json=body, headers={"Idempotency-Key": message.id}
        )
        if response.status_code != 202 and response.status_code != 200:
            raise _refusal(response)
        data = response.json()
        raw = str(data.get("status", "pending"))
        return SendReceipt(
            self.provider, str(data["id"]), normalise_status(self.provider, raw) or Status.QUEUED, raw
        )

    async def status(self, provider_id: str) -> RemoteStatus:
        response = await self._call("GET", f"/v1/messages/{provider_id}")
        if response.status_code != 200:
            raise _refusal(response)
        data = response.json()
        raw = str(data.get("status", ""))
        status = normalise_status(self.provider, raw)
        if status is None:
            raise ProviderError("unknown_status", f"the sidecar reported status {raw!r}", 502, True)
        return RemoteStatus(status, raw, data.get("error_code"), data.get("updated_at"))

    async def find_send(self, idempotency_key: str) -> SendLookup:
        """The sidecar keeps every key it reserved an id for (GET /v1/sends/:key)."""
        response = await self._call("GET", f"/v1/sends/{quote(idempotency_key, safe='')}")
        if response.status_code == 404 and _error_of(response)[0] == "unknown_key":
            return SendLookup(SendState.NOT_SENT)
        if response.status_code != 200:
            # Among them a 404 from a sidecar too old to have the route: that proves nothing.
            return SendLookup(SendState.UNKNOWN)
        data = response.json()
        try:
            state = SendState(str(data.get("state")))
        except ValueError:
            return SendLookup(SendState.UNKNOWN)
        provider_id = str(data["id"]) if data.get("id") else None
        raw = str(data.get("status") or "")
        status = normalise_status(self.provider, raw) if raw else None
        remote = RemoteStatus(status, raw, data.get("error_code"), data.get("updated_at")) if status else None
        return SendLookup(state, provider_id, remote)

    async def check_contact(self, phone: str) -> bool | None:
        response = await self._call("POST", "/v1/contacts/check", json={"phones": [phone]})
        if response.status_code != 200:
            raise _refusal(response)
        results = response.json().get("results", [])
        return bool(results[0].get("exists")) if results else None

    async def describe(self) -> dict[str, Any]:
        if not self._api_key:
            return {"configured": False, "reachable": None, "detail": "BRIDGE_API_KEY is not set"}
        try:
            response = await self._call("GET", "/v1/status")
        except ProviderError as exc:
            return {"configured": True, "reachable": False, "detail": exc.message}
        if response.status_code != 200:
            return {"configured": True, "reachable": True, "detail": _error_of(response)[1]}
        data = response.json()
        return {
            "configured": True,
            "reachable": True,
            "state": data.get("state"),
            "reason": data.get("reason"),
            "qr_available": bool(data.get("qr_available")),
            "me": data.get("me"),
            "outbox_depth": data.get("outbox_depth"),
        }

    async def qr(self, as_json: bool) -> httpx.Response:
        return await self._call("GET", "/v1/qr", params={"format": "json"} if as_json else None)


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "error")), str(error.get("message", response.text[:200]))
    except ValueError:
        return f"http_{response.status_code}", response.text[:200] or response.reason_phrase


def _refusal(response: httpx.Response) -> ProviderError:
    code, message = _error_of(response)
    if response.status_code == 401:
        return ProviderError(
            "bridge_unauthorized", f"the sidecar refused BRIDGE_API_KEY: {message}", 502, False
        )
    status = response.status_code if response.status_code in {400, 404, 409, 422, 429, 503, 504} else 502
    return ProviderError(
        code,
        message,
        status,
        response.status_code not in _DEFINITE_REFUSALS,
        retry_after=response.headers.get("Retry-After"),
    )
