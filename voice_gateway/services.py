"""The gateway's composition root: every long-lived part is built here once and handed down explicitly.

One database engine (store, call log and console share it), one gRPC channel to the agent (calls, the
console's greeting preview and WhatsApp auto-replies share it), one WhatsApp hub, one call cap. What
needs the server's event loop (the engine, the hub) is opened by `start()` before the first request and
closed by `stop()` after the last one; anything that asks for it outside that window gets
`GatewayStopped`, which the routes turn into a 503 so that a sender retries instead of losing data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.calls.limits import CallCap
from voice_gateway.console.data import ConsoleData
from voice_gateway.errors import GatewayStopped
from voice_gateway.limits.http_guard import AbuseGuard
from voice_gateway.settings import Settings, WsMode
from voice_gateway.storage import Store
from voice_gateway.storage.calls import CallLog
from voice_gateway.storage.schema import open_database
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.providers import build_providers
from voice_gateway.whatsapp.service import WhatsAppServices

log = logging.getLogger("voice_gateway")


@dataclass(frozen=True)
class _Running:
    engine: AsyncEngine
    store: Store
    console_data: ConsoleData
    whatsapp: WhatsAppHub


class GatewayServices:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.agent = AgentClient(
            settings.agent_addr,
            health_timeout_s=settings.agent_health_timeout_s,
            keepalive_s=settings.agent_keepalive_s,
        )
        self.guard = AbuseGuard(settings)
        self.call_cap = CallCap(settings.max_concurrent_calls)
        providers, self.baileys = build_providers(settings)
        self.whatsapp_providers: WhatsAppServices = providers
        self.ai: AiMode | None = (
            AiMode(settings, self.agent, self.whatsapp_hub) if settings.ws_mode is WsMode.AI else None
        )
        self._running: _Running | None = None

    async def start(self) -> None:
        engine = await open_database(self.settings.database_url)
        store = Store(engine)
        auto_reply = self.settings.whatsapp_auto_reply
        hub = WhatsAppHub(store, self.whatsapp_providers, self.agent if auto_reply else None, auto_reply)
        self._running = _Running(engine, store, ConsoleData(engine), hub)
        if self.ai is not None:
            self.ai.registry.call_log = CallLog(engine)
        log.info(
            "WHATSAPP_READY store=%s default=%s auto_reply=%s",
            store.backend,
            self.settings.whatsapp_default_provider.value,
            auto_reply,
        )

    async def stop(self) -> None:
        running, self._running = self._running, None
        await self.baileys.close()
        await self.agent.close()
        if running is not None:
            await running.engine.dispose()

    def _get(self) -> _Running:
        if self._running is None:
            raise GatewayStopped("the gateway is not serving (starting up or shutting down)")
        return self._running

    def whatsapp_hub(self) -> WhatsAppHub:
        return self._get().whatsapp

    def store(self) -> Store:
        return self._get().store

    def console_data(self) -> ConsoleData:
        return self._get().console_data
