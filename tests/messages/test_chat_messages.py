"""A message taken in a WhatsApp chat, through the real hub and a real agent process: stored before the
reply goes out; when it cannot be stored, the reply stays pending, and the retry (the agent answering the
same request again) stores the very same message once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from agentlocator.agent.v1 import agent_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import AgentFactory
from tests.messages.test_owner_notifier import FakeSidecar
from voice_gateway.agent_client import AgentClient
from voice_gateway.messages.inbox import OwnerInbox
from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage import Store
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import Message
from voice_gateway.whatsapp.service import WhatsAppServices

pytestmark = pytest.mark.integration
BAILEYS = WhatsAppProvider.BAILEYS
WHO = "+447700900123"


@dataclass
class FlakyInbox:
    """The owner inbox, with a database that fails the first `failures` writes."""

    inbox: OwnerInbox
    failures: int = 1
    offered: list[str] = field(default_factory=list)

    async def keep(self, message: agent_pb2.TakenMessage) -> object:
        self.offered.append(message.message_id)
        if self.failures:
            self.failures -= 1
            raise OSError("database is locked")
        return await self.inbox.keep(message)


@pytest.fixture
async def client(start_agent: AgentFactory) -> AsyncIterator[AgentClient]:
    agent = start_agent()
    running = AgentClient(f"127.0.0.1:{agent.port}", health_timeout_s=5.0)
    yield running
    await running.close()


async def test_a_chat_message_that_could_not_be_stored_is_stored_once_on_the_retry(
    engine: AsyncEngine, client: AgentClient
) -> None:
    sidecar = FakeSidecar()
    services = WhatsAppServices({BAILEYS: sidecar, WhatsAppProvider.TWILIO: FakeSidecar()}, BAILEYS)
    flaky = FlakyInbox(OwnerInbox(OwnerMessageStore(engine), None))
    store = Store(engine)
    hub = WhatsAppHub(store, services, client, True, keep_message=flaky.keep)

    async def write(provider_id: str, text: str) -> Message:
        message = await store.record_inbound(BAILEYS, provider_id, WHO, text, None, None, auto_reply=True)
        assert message is not None
        await hub.answer(message)
        return message

    await write("in-1", "Hi, this is Jo Bloggs, please take a message about my crown")
    confirmed = await write("in-2", "yes")
    assert [m.id for m in await store.pending_auto_replies()] == [confirmed.id]  # not answered yet
    assert await flaky.inbox.store.page(None, 10) == []

    await hub.resume_auto_replies()  # as after a restart: the agent gives the same answer again

    (stored,) = await flaky.inbox.store.page(None, 10)
    assert flaky.offered == [stored.id, stored.id]  # the same message both times
    assert (stored.name, stored.number, stored.reason, stored.channel, stored.caller) == (
        "Jo Bloggs",
        WHO,
        "My crown",
        "whatsapp",
        WHO,
    )
    assert await store.pending_auto_replies() == []
    replies = [m.text or "" for m in sidecar.delivered]
    assert len(replies) == 2 and "I've passed your message on" in replies[1]
