"""Where the agent's knowledge comes from: the newest version in the database, sent with each request.

Every call's SessionStart and every Chat carries the newest version (agent.proto, KnowledgeVersion), so
each agent replica answers from the console's latest save from the next call on, with no restart and
no push to replicas that may come and go. Finding the newest costs one indexed lookup per request; the
document itself is kept by version number (versions never change once written).

KNOWLEDGE_FILE seeds it: at start-up, an empty table gets version 1 from the file, and a file that
differs from the last version seeded from it (a deployment of the file as code) becomes a new version.
An unchanged file at a restart leaves the console's edits alone.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from agentlocator.agent.v1 import agent_pb2
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError

from agentlocator_common.knowledge import KnowledgeError, parse_knowledge
from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore, StaleVersion, digest_of

log = logging.getLogger("voice_gateway.knowledge")

# A call's start waits this long at most for the database; then it goes with the last version known.
LOOKUP_TIMEOUT_S = 1.0

KNOWLEDGE_LOOKUP_FAILURES = Counter(
    "agentlocator_knowledge_lookup_failures",
    "Requests sent with the last known knowledge version because the database could not be read in time",
)
KNOWLEDGE_SEEDS = Counter(
    "agentlocator_knowledge_seeds",
    "KNOWLEDGE_FILE at start-up: seeded (a new version), unchanged, invalid (not seeded, logged)",
    ["outcome"],
)


class KnowledgeSource:
    def __init__(
        self, store: KnowledgeVersionStore, knowledge_file: Path, timeout_s: float = LOOKUP_TIMEOUT_S
    ) -> None:
        self.store = store
        self.knowledge_file = knowledge_file
        self.timeout_s = timeout_s
        self._known: agent_pb2.KnowledgeVersion | None = None

    async def seed(self) -> None:
        """Make the knowledge file the newest version when the table is empty or the file changed."""
        path = self.knowledge_file
        try:
            document = await asyncio.to_thread(path.read_text, encoding="utf-8")
            parse_knowledge(document, str(path))
        except (OSError, UnicodeDecodeError, KnowledgeError) as e:
            KNOWLEDGE_SEEDS.labels("invalid").inc()
            log.error("KNOWLEDGE_FILE_NOT_SEEDED file=%s error=%s", path, e)
            return
        for _ in range(3):  # another gateway starting beside this one may seed the same file first
            seeded = await self.store.newest_from_file()
            if seeded is not None and seeded.digest == digest_of(document):
                KNOWLEDGE_SEEDS.labels("unchanged").inc()
                return
            try:
                added = await self.store.add(await self.store.newest_number(), document, "file", str(path))
            except StaleVersion:
                continue
            KNOWLEDGE_SEEDS.labels("seeded").inc()
            log.info("KNOWLEDGE_SEEDED version=%d file=%s", added.version, path)
            return

    async def for_request(self) -> agent_pb2.KnowledgeVersion | None:
        """The newest version for a SessionStart or ChatRequest; None: none yet (the agent's own file)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                number = await self.store.newest_number()
                if number == 0:
                    return None
                if self._known is None or self._known.version != number:
                    found = await self.store.get(number)
                    if found is None:
                        return self._known
                    self._known = agent_pb2.KnowledgeVersion(version=found.version, document=found.document)
        except (SQLAlchemyError, OSError, TimeoutError) as e:
            # A call is never refused or held up for this: the last version this gateway sent is still good.
            KNOWLEDGE_LOOKUP_FAILURES.inc()
            known = self._known.version if self._known else None
            log.warning("KNOWLEDGE_LOOKUP_FAILED sent=%s error=%s", known, repr(e))
        return self._known
