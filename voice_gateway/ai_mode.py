"""What WS_MODE=AI adds to the app: the agent link, the call registry, transfers, and each call's bridge."""

from __future__ import annotations

from voice_gateway.agent_link import AgentLink
from voice_gateway.call_bridge import CallBridge, Close
from voice_gateway.call_registry import CallRegistry
from voice_gateway.media_streams import MediaStreamServer
from voice_gateway.settings import Settings
from voice_gateway.storage.calls import CallLog
from voice_gateway.stream_modes import Send
from voice_gateway.twilio_rest import TwilioCalls


class AiMode:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.link = AgentLink(settings.agent_addr, health_timeout_s=settings.agent_health_timeout_s)
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
            self.link,
            self.registry,
            transfer=self.calls.transfer if self.calls else None,
            lead_ms=self.settings.playback_lead_ms,
            ping_interval_s=self.settings.agent_ping_interval_s,
            end_call_timeout_s=self.settings.end_call_timeout_s,
        )

    async def ready(self) -> tuple[bool, str]:
        return await self.link.ready()

    async def open(self) -> None:
        """Attach the call log (the same database as WhatsApp) once the server's loop runs."""
        self.registry.call_log = await CallLog.open(self.settings.database_url)

    async def close(self) -> None:
        await self.link.close()
        if self.registry.call_log is not None:
            await self.registry.call_log.close()
