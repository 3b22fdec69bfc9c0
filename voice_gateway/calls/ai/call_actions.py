"""What the agent may ask the gateway to do during a call besides talking: transfer it, WhatsApp the caller,
store a message it took for the owner.

Each action is reported (logged and counted) and never ends the call: a failed transfer leaves the
caller with the agent, a failed WhatsApp leaves the conversation going, and a message that could not be
stored is not acknowledged, so the agent keeps it and sends it again on the call's next stream.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agentlocator.agent.v1 import agent_pb2 as pb

from voice_gateway import metrics

log = logging.getLogger("voice_gateway.bridge")

Transfer = Callable[[str, str], Awaitable[None]]  # (call sid, number)
SendWhatsApp = Callable[[str, str], Awaitable[str]]  # (to, text) -> our message id
KeepMessage = Callable[[pb.TakenMessage], Awaitable[object]]  # returns once the message is committed
Request = Callable[[pb.ConverseRequest], None]  # a request to the agent on the call's stream


class CallActions:
    def __init__(
        self,
        transfer: Transfer | None,
        send_whatsapp: SendWhatsApp | None,
        keep_message: KeepMessage | None = None,
    ) -> None:
        self._transfer = transfer
        self._send_whatsapp = send_whatsapp
        self._keep_message = keep_message

    async def keep_message(self, call_sid: str, message: pb.TakenMessage, request: Request) -> None:
        """Store a message the agent took, then tell the agent (MessageStored) so it may forget it."""
        if self._keep_message is None:
            log.error("CALL_MESSAGE_NOT_STORED call=%s id=%s: no store", call_sid, message.message_id)
            return
        try:
            await self._keep_message(message)
        except Exception:  # logged by the inbox; unacknowledged, the agent sends it again
            log.error("CALL_MESSAGE_NOT_STORED call=%s id=%s", call_sid, message.message_id)
            return
        request(pb.ConverseRequest(message_stored=pb.MessageStored(message_id=message.message_id)))

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
