"""What WS_MODE=AI adds to the gateway: the call registry, transfers, and each call's bridge to the agent,
which hands the messages the agent takes to the owner's inbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from agentlocator.agent.v1 import agent_pb2 as pb

from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.bridge import CallBridge, Close
from voice_gateway.calls.modes import Send
from voice_gateway.calls.registry import CallRegistry
from voice_gateway.messages.inbox import OwnerInbox
from voice_gateway.settings import Settings
from voice_gateway.twilio.media_streams import MediaStreamServer
from voice_gateway.twilio.rest import TwilioCalls
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import OutgoingMessage


class AiMode:
    def __init__(
        self,
        settings: Settings,
        agent: AgentClient,
        whatsapp_hub: Callable[[], WhatsAppHub],
        owner_messages: Callable[[], OwnerInbox],
    ) -> None:
        self.settings = settings
        self.agent = agent
        self._whatsapp_hub = whatsapp_hub
        self._owner_messages = owner_messages
        self.registry = CallRegistry()
        self.calls = (
            TwilioCalls(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base_url)
            if settings.twilio_account_sid and settings.twilio_auth_token
            else None
        )

    def bridge(self, stream: MediaStreamServer, send: Send, close: Close) -> CallBridge:
        return CallBridge(
            stream,
            send,
            close,
            self.agent,
            self.registry,
            transfer=self.calls.transfer if self.calls else None,
            send_whatsapp=self.send_whatsapp,
            keep_message=self.keep_message,
            lead_ms=self.settings.playback_lead_ms,
            ping_interval_s=self.settings.agent_ping_interval_s,
            end_call_timeout_s=self.settings.end_call_timeout_s,
            reconnect_timeout_s=self.settings.agent_reconnect_timeout_s,
        )

    async def send_whatsapp(self, to: str, text: str) -> str:
        """Send through the gateway's WhatsApp API (default provider, fail-over on); the message id."""
        hub = self._whatsapp_hub()
        outcome = await hub.send(OutgoingMessage(id=uuid.uuid4().hex, to=to, text=text), None, fallback=True)
        if outcome.error is not None:
            raise RuntimeError(f"{outcome.error.code}: {outcome.error.message}")
        return outcome.message.id

    async def keep_message(self, message: pb.TakenMessage) -> object:
        return await self._owner_messages().keep(message)

    async def ready(self) -> tuple[bool, str]:
        return await self.agent.ready()
