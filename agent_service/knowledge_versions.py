"""Knowledge versions the gateway sends with each call and chat (the console's edits), built into brains.

Every request may carry the business's newest knowledge (SessionStart.knowledge, ChatRequest.knowledge).
The document is validated by the same loader that reads KNOWLEDGE_FILE at start-up, and what is built
from it (the receptionist's index, the tools, the booking dialogue) is kept by the document's digest, so
the next call with the same version costs a dictionary lookup. What is expensive (the LLM, the speech
models, the calendar's connection) is built once by the composition root and shared by every version.
A document the agent cannot load is logged and counted, remembered as refused, and the request is
answered from the start-up knowledge: a caller is never hung up on because of a bad edit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable

from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics
from agent_service.knowledge import Knowledge, KnowledgeError, parse_knowledge
from agent_service.pipelines.base import Taught

log = logging.getLogger(__name__)

# Versions kept built: the newest and a few before it (calls that started on them may still be going;
# a restore brings an old one back). Refusals are kept too, so a bad document is not parsed per call.
CAPACITY = 8

Teach = Callable[[Knowledge, int], Taught]


class KnowledgeVersions:
    def __init__(self, teach: Teach, capacity: int = CAPACITY) -> None:
        self._teach = teach
        self._capacity = capacity
        # digest -> the built version, or None when the document was refused.
        self._built: OrderedDict[str, asyncio.Future[Taught | None]] = OrderedDict()

    async def resolve(self, sent: agent_pb2.KnowledgeVersion) -> Taught | None:
        """The parts built for `sent`; None: unset or refused (the caller uses the start-up knowledge)."""
        if not sent.version:
            return None
        digest = hashlib.sha256(sent.document.encode("utf-8")).hexdigest()
        found = self._built.get(digest)
        if found is not None:
            self._built.move_to_end(digest)
            return await asyncio.shield(found)
        # A future, not the result: requests arriving while it is being built wait for the one build.
        future: asyncio.Future[Taught | None] = asyncio.get_running_loop().create_future()
        self._built[digest] = future
        while len(self._built) > self._capacity:
            self._built.popitem(last=False)
        try:
            future.set_result(await asyncio.to_thread(self._build, sent.version, sent.document, digest))
        except BaseException as e:  # a bug in building, or cancellation: the next request tries again
            self._built.pop(digest, None)
            if isinstance(e, Exception):
                future.set_exception(e)
                future.exception()  # retrieved here, so a future nobody else awaited never warns
            else:
                future.cancel()
            raise
        return future.result()

    def _build(self, version: int, document: str, digest: str) -> Taught | None:
        try:
            knowledge = parse_knowledge(document, f"knowledge version {version}")
        except KnowledgeError as e:
            metrics.KNOWLEDGE_VERSIONS.labels("refused").inc()
            log.error("KNOWLEDGE_VERSION_REFUSED version=%d digest=%.12s error=%s", version, digest, e)
            return None
        try:
            taught = self._teach(knowledge, version)
        except Exception as e:  # valid, yet its parts would not build: the call still gets an answer
            metrics.KNOWLEDGE_VERSIONS.labels("refused").inc()
            log.exception("KNOWLEDGE_VERSION_REFUSED version=%d digest=%.12s error=%s", version, digest, e)
            return None
        metrics.KNOWLEDGE_VERSIONS.labels("built").inc()
        log.info("KNOWLEDGE_VERSION_BUILT version=%d digest=%.12s", version, digest)
        return taught
