"""What the routes ask for: send with optional fail-over, store what arrives, answer it if asked to."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from agentlocator.agent.v1 import agent_pb2

from voice_gateway.agent_client import AgentClient
from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage import SendKey, StatusOutcome, Store
from voice_gateway.whatsapp import metrics
from voice_gateway.whatsapp.model import Message, OutgoingMessage, Status
from voice_gateway.whatsapp.service import ProviderError, WhatsAppService, WhatsAppServices

log = logging.getLogger("voice_gateway.whatsapp")

AUTO_REPLY_TIMEOUT_S = 30.0
KeepMessage = Callable[[agent_pb2.TakenMessage], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class SendOutcome:
    message: Message
    error: ProviderError | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    provider: WhatsAppProvider
    provider_id: str
    contact: str
    text: str | None
    media: dict[str, Any] | None
    sent_at: str | None
    push_name: str | None = None
    event_id: str | None = None


class WhatsAppHub:
    def __init__(
        self,
        store: Store,
        services: WhatsAppServices,
        agent: AgentClient | None,
        auto_reply: bool,
        keep_message: KeepMessage | None = None,
    ) -> None:
        self.store = store
        # Where a message the agent took in a chat is stored (voice_gateway/messages/inbox.py).
        self.keep_message = keep_message
        self.services = services
        self.agent = agent
        self.auto_reply = auto_reply and agent is not None
        # Ids of the sends this process is making right now: nothing else may settle them meanwhile.
        self.sending: set[str] = set()

    async def send(
        self,
        outgoing: OutgoingMessage,
        provider: WhatsAppProvider | None,
        fallback: bool,
        key: SendKey | None = None,
    ) -> SendOutcome:
        """Store, then send; `KeyTaken` (from the store) when `key` made a message before."""
        if provider is None and outgoing.template is not None:
            # Templates (for outside the 24-hour window) exist only on Twilio.
            provider = WhatsAppProvider.TWILIO
        first = self.services.get_whatsapp_service(provider)
        message = await self.store.create_outbound(outgoing, first.provider, key)
        self.sending.add(message.id)
        try:
            return await self._send(message, outgoing, first, fallback)
        finally:
            self.sending.discard(message.id)

    async def _send(
        self, message: Message, outgoing: OutgoingMessage, first: WhatsAppService, fallback: bool
    ) -> SendOutcome:
        try:
            receipt = await first.send(outgoing)
        except ProviderError as error:
            metrics.WA_SENDS.labels(first.provider.value, metrics.send_result(error.code)).inc()
            if not (fallback and error.may_fall_back):
                return await self._give_up(message, first.provider, error)
            second = self.services.other_than(first.provider)
            log.warning(
                "WHATSAPP_FALLBACK id=%s from=%s to=%s reason=%s",
                message.id,
                first.provider.value,
                second.provider.value,
                error.code,
            )
            metrics.WA_FALLBACKS.labels(first.provider.value).inc()
            await self.store.note_rejection(message.id, first.provider, error.code, second.provider)
            try:
                receipt = await second.send(outgoing)
            except ProviderError as second_error:
                metrics.WA_SENDS.labels(second.provider.value, metrics.send_result(second_error.code)).inc()
                return await self._give_up(message, second.provider, second_error)
        metrics.WA_SENDS.labels(receipt.provider.value, "accepted").inc()
        stored = await self.store.mark_accepted(
            message.id, receipt.provider, receipt.provider_id, receipt.status, receipt.raw_status
        )
        log.info(
            "WHATSAPP_SENT id=%s provider=%s provider_id=%s to=%s",
            stored.id,
            receipt.provider.value,
            receipt.provider_id,
            outgoing.to,
        )
        return SendOutcome(stored)

    async def _give_up(
        self, message: Message, provider: WhatsAppProvider, error: ProviderError
    ) -> SendOutcome:
        if error.accepted_possible:
            # It may be on its way: leave it queued (a status report can still move it) and say so.
            log.error(
                "WHATSAPP_SEND_UNCERTAIN id=%s provider=%s code=%s detail=%s",
                message.id,
                provider.value,
                error.code,
                error.message,
            )
        else:
            await self.store.note_rejection(message.id, provider, error.code, None)
            log.warning(
                "WHATSAPP_SEND_REFUSED id=%s provider=%s code=%s detail=%s",
                message.id,
                provider.value,
                error.code,
                error.message,
            )
        stored = await self.store.get(message.id)
        assert stored is not None
        return SendOutcome(stored, error)

    async def status_report(
        self,
        provider: WhatsAppProvider,
        provider_id: str,
        raw_status: str,
        status: Status,
        error_code: str | None,
        at: str,
        event_id: str | None,
    ) -> StatusOutcome:
        outcome = await self.store.record_status(
            provider, provider_id, status, raw_status, error_code, at, event_id
        )
        log.info(
            "WHATSAPP_STATUS provider=%s provider_id=%s status=%s raw=%s outcome=%s",
            provider.value,
            provider_id,
            status.value,
            raw_status,
            outcome.value,
        )
        return outcome

    async def receive(self, inbound: Inbound) -> Message | None:
        wants_reply = self.auto_reply and bool(inbound.text and inbound.text.strip())
        stored = await self.store.record_inbound(
            inbound.provider,
            inbound.provider_id,
            inbound.contact,
            inbound.text,
            inbound.media,
            inbound.sent_at,
            inbound.event_id,
            auto_reply=wants_reply,
        )
        if stored is None:
            log.info(
                "WHATSAPP_DUPLICATE provider=%s provider_id=%s event=%s",
                inbound.provider.value,
                inbound.provider_id,
                inbound.event_id or "-",
            )
        else:
            log.info(
                "WHATSAPP_RECEIVED id=%s provider=%s from=%s",
                stored.id,
                inbound.provider.value,
                inbound.contact,
            )
        return stored

    async def answer(self, message: Message) -> None:
        """Auto-reply to one stored inbound text through the agent's Chat RPC and the same provider."""
        assert self.agent is not None
        reply_id = "reply-" + uuid.uuid5(uuid.NAMESPACE_URL, message.id).hex
        request = agent_pb2.ChatRequest(
            conversation_id=f"whatsapp:{message.contact}",
            text=message.text or "",
            channel=agent_pb2.CHANNEL_WHATSAPP,
            from_address=message.contact,
            metadata={"provider": message.provider.value},
            # Asked again after a restart, the agent gives the same answer (and the same messages).
            request_id=message.id,
        )
        knowledge = await self.agent.knowledge_version()  # the newest the console saved
        if knowledge is not None:
            request.knowledge.CopyFrom(knowledge)
        try:
            response = await self.agent.stub().Chat(
                request,
                timeout=AUTO_REPLY_TIMEOUT_S,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            metrics.WA_AUTO_REPLIES.labels("agent_error").inc()
            log.error(
                "WHATSAPP_AUTO_REPLY_FAILED id=%s agent=%s %s", message.id, exc.code().name, exc.details()
            )
            if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
                # The agent will refuse this text every time (too long, say): asking again at each
                # start-up would never end. The message itself stays stored for the owner to read.
                await self.store.set_auto_reply(message.id, "refused")
            # Otherwise left pending: the next start-up tries again.
            return
        if not await self._keep_messages(message, response):
            return  # left pending: the next start-up asks again
        if not response.text.strip():
            await self.store.set_auto_reply(message.id, "empty")
            metrics.WA_AUTO_REPLIES.labels("empty").inc()
            return
        existing = await self.store.get(reply_id)
        if existing is not None and existing.provider_id is not None:
            await self.store.set_auto_reply(message.id, "done")
            return
        # A deterministic id doubles as the sidecar's Idempotency-Key: a retry never answers twice.
        outgoing = OutgoingMessage(id=reply_id, to=message.contact, text=response.text)
        if existing is None:
            outcome = await self.send(outgoing, message.provider, fallback=False)
        else:
            outcome = await self._resend(outgoing, existing)
        state = "done" if outcome.error is None else "failed"
        await self.store.set_auto_reply(message.id, state)
        metrics.WA_AUTO_REPLIES.labels(state).inc()
        log.info("WHATSAPP_AUTO_REPLY id=%s reply=%s result=%s", message.id, reply_id, state)

    async def _keep_messages(self, message: Message, response: agent_pb2.ChatResponse) -> bool:
        """Store every message the agent took, before the reply goes out; False if one could not be."""
        for action in response.actions:
            if not action.HasField("taken_message") or self.keep_message is None:
                continue
            try:
                await self.keep_message(action.taken_message)
            except Exception:
                metrics.WA_AUTO_REPLIES.labels("store_error").inc()
                log.exception("WHATSAPP_AUTO_REPLY_FAILED id=%s: a taken message was not stored", message.id)
                return False
        return True

    async def _resend(self, outgoing: OutgoingMessage, existing: Message) -> SendOutcome:
        service = self.services.get_whatsapp_service(existing.provider)
        self.sending.add(existing.id)
        try:
            receipt = await service.send(outgoing)
        except ProviderError as error:
            return await self._give_up(existing, existing.provider, error)
        finally:
            self.sending.discard(existing.id)
        stored = await self.store.mark_accepted(
            existing.id, receipt.provider, receipt.provider_id, receipt.status, receipt.raw_status
        )
        return SendOutcome(stored)

    async def resume_auto_replies(self) -> None:
        if not self.auto_reply:
            return
        for message in await self.store.pending_auto_replies():
            await self.answer(message)
