"""What the agent may ask the gateway to do during a call besides talking: transfer it, WhatsApp the caller.

Each action is reported (logged and counted) and never ends the call: a failed transfer leaves the
caller with the agent, a failed WhatsApp leaves the conversation going.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from voice_gateway import metrics

log = logging.getLogger("voice_gateway.bridge")

Transfer = Callable[[str, str], Awaitable[None]]  # (call sid, number)
SendWhatsApp = Callable[[str, str], Awaitable[str]]  # (to, text) -> our message id


class CallActions:
    def __init__(self, transfer: Transfer | None, send_whatsapp: SendWhatsApp | None) -> None:
        self._transfer = transfer
        self._send_whatsapp = send_whatsapp

    async def transfer(self, call_sid: str, number: str) -> None:
        if self._transfer is None:
            log.error(
                "TRANSFER_UNAVAILABLE call=%s number=%s: TWILIO_ACCOUNT_SID is not set", call_sid, number
            )
            metrics.TRANSFERS.labels("unconfigured").inc()
            return
        try:
            await self._transfer(call_sid, number)
        except Exception as exc:  # the REST failure is reported; the call carries on with the agent
            metrics.TRANSFERS.labels("failed").inc()
            log.error("TRANSFER_FAILED call=%s number=%s error=%s", call_sid, number, exc)
            return
        metrics.TRANSFERS.labels("ok").inc()
        log.info("TRANSFERRED call=%s number=%s", call_sid, number)

    async def whatsapp(self, call_sid: str, to: str, text: str) -> None:
        if self._send_whatsapp is None or not to:
            metrics.CALL_WHATSAPP.labels("unavailable").inc()
            log.error("CALL_WHATSAPP_UNAVAILABLE call=%s to=%s", call_sid, to or "-")
            return
        try:
            message_id = await self._send_whatsapp(to, text)
        except Exception as exc:  # reported; the call goes on
            metrics.CALL_WHATSAPP.labels("failed").inc()
            log.error("CALL_WHATSAPP_FAILED call=%s to=%s error=%s", call_sid, to, exc)
            return
        metrics.CALL_WHATSAPP.labels("sent").inc()
        log.info("CALL_WHATSAPP_SENT call=%s to=%s id=%s", call_sid, to, message_id)
