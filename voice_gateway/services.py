"""The gateway's composition root: every long-lived part is built here once and handed down explicitly.

One database engine (store, call log and console share it), one gRPC channel to the agent (calls, the
console's greeting preview and WhatsApp auto-replies share it), one WhatsApp hub, one call cap, one inbox
for the messages the agent takes and one task that sends them to the owner. What
needs the server's event loop (the engine, the hub) is opened by `start()` before the first request and
closed by `stop()` after the last one; anything that asks for it outside that window gets
`GatewayStopped`, which the routes turn into a 503 so that a sender retries instead of losing data.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.cluster.wiring import console_sessions, shared_state
from voice_gateway.console.data import ConsoleData
from voice_gateway.errors import GatewayStopped
from voice_gateway.knowledge.source import KnowledgeSource
from voice_gateway.limits.http_guard import AbuseGuard
from voice_gateway.messages.inbox import OwnerInbox
from voice_gateway.messages.notify import OwnerNotifier, RetryPolicy
from voice_gateway.settings import Settings, WsMode
from voice_gateway.storage import Store
from voice_gateway.storage.calls import CallLog
from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore
from voice_gateway.storage.owner_messages import OwnerMessageStore
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
    owner_messages: OwnerInbox
    notifier: asyncio.Task[None] | None


class GatewayServices:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.agent = AgentClient(
            settings.agent_addr,
            health_timeout_s=settings.agent_health_timeout_s,
            keepalive_s=settings.agent_keepalive_s,
        )
        self.guard = AbuseGuard(settings)
        providers, self.baileys = build_providers(settings)
        self.whatsapp_providers: WhatsAppServices = providers
        self.ai: AiMode | None = (
            AiMode(settings, self.agent, self.whatsapp_hub, self.owner_messages)
            if settings.ws_mode is WsMode.AI
            else None
        )
        # With PostgreSQL the lines, live calls and limits are every gateway's (cluster/wiring.py).
        self.call_cap, self.shared = shared_state(settings, lambda: self._get().engine, self.guard, self.ai)
        self.console_sessions = console_sessions(settings, lambda: self._get().engine)
        self._running: _Running | None = None

    async def start(self) -> None:
        engine = await open_database(self.settings.database_url)
        store = Store(engine)
        auto_reply = self.settings.whatsapp_auto_reply
        owner_store = OwnerMessageStore(engine)
        notifier = self._owner_notifier(owner_store)
        inbox = OwnerInbox(owner_store, notifier)
        agent = self.agent if auto_reply else None
        hub = WhatsAppHub(store, self.whatsapp_providers, agent, auto_reply, keep_message=inbox.keep)
        task = asyncio.create_task(notifier.run(), name="owner-notifier") if notifier else None
        self._running = _Running(engine, store, ConsoleData(engine), hub, inbox, task)
        knowledge = KnowledgeSource(KnowledgeVersionStore(engine), Path(self.settings.knowledge_file))
        await knowledge.seed()
        self.agent.knowledge = knowledge.for_request
        if self.ai is not None:
            self.ai.registry.call_log = CallLog(engine)
        if self.shared is not None:
            await self.shared.start()
        log.info(
            "WHATSAPP_READY store=%s default=%s auto_reply=%s",
            store.backend,
            self.settings.whatsapp_default_provider.value,
            auto_reply,
        )

    def _owner_notifier(self, store: OwnerMessageStore) -> OwnerNotifier | None:
        s = self.settings
        if not s.owner_whatsapp:
            return None
        # An attempt in flight is left alone for longer than any provider may take to answer it.
        lease_s = s.baileys_bridge_timeout_s + 30
        policy = RetryPolicy(
            s.owner_notify_retry_min_s, s.owner_notify_retry_max_s, s.owner_notify_max_attempts, lease_s
        )
        return OwnerNotifier(store, self.whatsapp_hub, s.owner_whatsapp, policy)

    async def stop(self) -> None:
        if self.shared is not None and self._running is not None:
            await self.shared.stop()  # while the engine is open: its last writes and its goodbye row
        running, self._running = self._running, None
        if running is not None:
            if running.notifier is not None:
                running.notifier.cancel()
                await asyncio.gather(running.notifier, return_exceptions=True)
            await running.owner_messages.drain()
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

    def owner_messages(self) -> OwnerInbox:
        return self._get().owner_messages
