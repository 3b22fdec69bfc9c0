"""KNOWLEDGE_FILE seeds the knowledge versions: version 1 on an empty table, a new version when the
deployed file changed, nothing when it did not (the console's edits stay), nothing when it is invalid."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE
from voice_gateway.knowledge.source import KnowledgeSource
from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore
from voice_gateway.storage.schema import open_database

DEMO = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8")


async def test_the_file_seeds_once_a_changed_file_is_a_new_version_and_console_edits_survive_restarts(
    tmp_path: Path,
) -> None:
    engine = await open_database(f"sqlite:///{tmp_path}/k.db")
    try:
        store = KnowledgeVersionStore(engine)
        file = tmp_path / "business.yaml"
        file.write_text(DEMO, encoding="utf-8")
        source = KnowledgeSource(store, file)
        assert await source.for_request() is None  # nothing yet: the agent uses its own file
        await source.seed()
        await source.seed()  # a restart with the same file
        assert [(v.version, v.source) for v in await store.listing(10)] == [(1, "file")]
        await store.add(1, DEMO.replace("45 pounds", "50 pounds"), "console", "edited in the console")
        await KnowledgeSource(store, file).seed()  # restarted, the file unchanged: the edit stays
        sent = await source.for_request()
        assert sent is not None and sent.version == 2 and "50 pounds" in sent.document
        file.write_text(DEMO.replace("45 pounds", "55 pounds"), encoding="utf-8")
        await KnowledgeSource(store, file).seed()  # the file deployed as code wins
        sent = await source.for_request()
        assert sent is not None and sent.version == 3 and "55 pounds" in sent.document
        file.write_text(DEMO.replace("45 pounds", "-45 pounds"), encoding="utf-8")
        await KnowledgeSource(store, file).seed()  # invalid: logged, never a version
        assert (await store.newest_number()) == 3
    finally:
        await engine.dispose()


def lookup_failures() -> float:
    return REGISTRY.get_sample_value("agentlocator_knowledge_lookup_failures_total") or 0.0


# Past asyncpg's own 60 s connect timeout a lookup would fail anyway: the call must not wait for it.
@pytest.mark.timeout(30)
async def test_a_database_that_does_not_answer_holds_no_call_up_the_last_version_known_goes(
    tmp_path: Path,
) -> None:
    # A PostgreSQL address that accepts connections and never speaks: each lookup waits its timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    engine = await open_database(f"sqlite:///{tmp_path}/k.db")
    unanswered = create_async_engine(f"postgresql+asyncpg://agent:pw@127.0.0.1:{silent.getsockname()[1]}/db")
    try:
        source = KnowledgeSource(KnowledgeVersionStore(engine), DEMO_KNOWLEDGE_FILE, timeout_s=0.2)
        await source.seed()
        known = await source.for_request()
        assert known is not None and known.version == 1
        failures = lookup_failures()
        source.store = KnowledgeVersionStore(unanswered)
        assert await source.for_request() == known
        assert lookup_failures() == failures + 1
    finally:
        await unanswered.dispose()
        await engine.dispose()
        silent.close()
