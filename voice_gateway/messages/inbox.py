"""Where a message the agent took arrives, from a call's stream or a chat's answer: stored once, then the
owner's notification woken. The caller learns it is stored only after the commit, so it acknowledges
nothing that could still be lost.
"""

from __future__ import annotations

import asyncio
import logging

from agentlocator.agent.v1 import agent_pb2

from voice_gateway.messages import metrics
from voice_gateway.messages.model import OwnerMessage, from_contract
from voice_gateway.messages.notify import OwnerNotifier
from voice_gateway.storage.owner_messages import OwnerMessageStore

log = logging.getLogger("voice_gateway.messages")

STORE_TRIES = 3  # a database that hiccups (a lock, a failover) gets a second and third chance


class OwnerInbox:
    def __init__(self, store: OwnerMessageStore, notifier: OwnerNotifier | None) -> None:
        self.store = store
        self.notifier = notifier
        self._storing: set[asyncio.Task[OwnerMessage]] = set()

    async def keep(self, message: agent_pb2.TakenMessage) -> OwnerMessage:
        """Store `message` (committed when this returns; a copy stored before is found, not doubled).

        Shielded: a call that ends meanwhile cancels its wait, never the write, and `drain` waits for it."""
        task = asyncio.get_running_loop().create_task(self._keep(message))
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)
        return await asyncio.shield(task)

    async def drain(self) -> None:
        await asyncio.gather(*self._storing, return_exceptions=True)

    async def _keep(self, message: agent_pb2.TakenMessage) -> OwnerMessage:
        taken = from_contract(message)
        for attempt in range(1, STORE_TRIES + 1):
            try:
                stored, created = await self.store.add(taken, notify=self.notifier is not None)
                break
            except Exception:
                if attempt == STORE_TRIES:
                    metrics.OWNER_MESSAGES.labels(taken.channel, "failed").inc()
                    log.exception(
                        "OWNER_MESSAGE_NOT_STORED id=%s conversation=%s: the agent keeps it unacknowledged",
                        taken.id,
                        taken.conversation_id,
                    )
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        metrics.OWNER_MESSAGES.labels(taken.channel, "stored" if created else "duplicate").inc()
        log.info(
            "OWNER_MESSAGE_STORED id=%s channel=%s conversation=%s new=%s notify=%s",
            stored.id,
            stored.channel,
            stored.conversation_id,
            str(created).lower(),
            stored.notify_state.value,
        )
        if created and self.notifier is not None:
            self.notifier.wake()
        return stored
