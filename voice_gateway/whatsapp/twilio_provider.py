"""The Twilio provider: WhatsApp over Twilio's Messages API through Twilio's own SDK.

The SDK has no base-URL argument; `client.api.base_url` is what its URL builder reads, so a
configurable TWILIO_API_BASE_URL (loopback in tests) goes there.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

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


class TwilioWhatsApp:
    provider = WhatsAppProvider.TWILIO

    def __init__(
        self,
        account_sid: str | None,
        auth_token: str | None,
        sender: str | None,
        api_base_url: str,
        status_callback: str | None,
    ) -> None:
        self._sender = sender
        self._status_callback = status_callback
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", account_sid),
                ("TWILIO_AUTH_TOKEN", auth_token),
                ("TWILIO_WHATSAPP_FROM", sender),
            )
            if not value
        ]
        self._missing = ", ".join(missing)
        self._client: Client | None = None
        if not missing:
            self._client = Client(account_sid, auth_token)
            self._client.api.base_url = api_base_url.rstrip("/")

    def _require(self) -> Client:
        if self._client is None:
            raise NotConfigured(self.provider, self._missing)
        return self._client

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        client = self._require()
        arguments: dict[str, Any] = {"from_": self._sender, "to": "whatsapp:" + message.to}
        if message.template is not None:
            arguments["content_sid"] = message.template.content_sid
            if message.template.variables:
                arguments["content_variables"] = json.dumps(message.template.variables)
        else:
            if message.text:
                arguments["body"] = message.text
            if message.media is not None:
                if not message.media.url:
                    raise ProviderError(
                        "media_url_required", "twilio sends media by public URL only (media.url)", 422, False
                    )
                arguments["media_url"] = [message.media.url]
        if self._status_callback:
            arguments["status_callback"] = self._status_callback
        created = await self._run(lambda: client.messages.create(**arguments))
        raw = str(created.status or "queued")
        return SendReceipt(
            self.provider, str(created.sid), normalise_status(self.provider, raw) or Status.QUEUED, raw
        )

    async def status(self, provider_id: str) -> RemoteStatus:
        client = self._require()
        fetched = await self._run(lambda: client.messages(provider_id).fetch())
        raw = str(fetched.status)
        status = normalise_status(self.provider, raw)
        if status is None:
            raise ProviderError("unknown_status", f"twilio reported status {raw!r}", 502, True)
        error = str(fetched.error_code) if fetched.error_code else None
        updated = fetched.date_updated.isoformat() if fetched.date_updated else None
        return RemoteStatus(status, raw, error, updated)

    async def find_send(self, idempotency_key: str) -> SendLookup:
        # Twilio's Messages API cannot be searched by our id: only the status callback would say.
        return SendLookup(SendState.UNKNOWN)

    async def check_contact(self, phone: str) -> bool | None:
        self._require()
        return None  # Twilio's API cannot tell whether a number uses WhatsApp.

    async def describe(self) -> dict[str, Any]:
        if self._client is None:
            return {"configured": False, "detail": f"missing {self._missing}"}
        return {"configured": True, "from": self._sender}

    async def _run(self, call: Any) -> Any:
        # The SDK's HTTP client is synchronous: keep it off the event loop.
        try:
            return await asyncio.to_thread(call)
        except TwilioRestException as exc:
            code = f"twilio_{exc.code}" if exc.code else f"twilio_http_{exc.status}"
            # A 4xx is Twilio refusing the request: nothing was queued. A 5xx leaves it unknown.
            refused = 400 <= exc.status < 500
            status = 422 if exc.status in (400, 404) else (502 if not refused else exc.status)
            if exc.status in (401, 403):
                status = 502
            raise ProviderError(code, exc.msg or str(exc), status, not refused) from exc
        except OSError as exc:
            # requests' errors are OSErrors. Only a connection that never opened proves nothing was sent.
            never_connected = "NewConnectionError" in repr(exc) or "Connection refused" in repr(exc)
            code = "twilio_unreachable" if never_connected else "twilio_error"
            raise ProviderError(
                code, str(exc)[:300], 503 if never_connected else 502, not never_connected
            ) from exc
