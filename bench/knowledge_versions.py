"""What teaching the agent from the console costs a call: the gateway's lookup of the newest knowledge
version per call or chat, and the agent's validation and build of a version it has not seen (once per
version and replica) against the lookup of one it has (every other request).

Gateway: `KnowledgeSource.for_request` on a SQLite file database holding one version (the demo) and on
one holding 50, N times in a row (one indexed max() each; the document is fetched again only when the
number moved). Agent: `parse_knowledge` of the demo document, `Teacher.taught` (the receptionist's index,
the tools, the booking dialogue; LLM_PROVIDER=receptionist), and `KnowledgeVersions.resolve` for a
version already built. Medians and 95th percentiles.
Run: `.venv/bin/python -m bench.knowledge_versions` (about 20 s here).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from agentlocator.agent.v1 import agent_pb2

from agent_service.composition import Teacher
from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, parse_knowledge
from agent_service.knowledge_versions import KnowledgeVersions
from agent_service.settings import AgentSettings
from voice_gateway.knowledge.source import KnowledgeSource
from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore
from voice_gateway.storage.schema import open_database

DEMO = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8")


def summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)))]
    return f"| {name} | {statistics.median(ordered) * 1e3:.3f} | {p95 * 1e3:.3f} | {len(ordered)} |"


async def timed_async(work: Callable[[], Awaitable[object]], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return times


def timed(work: Callable[[], object], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


async def gateway_rows(directory: Path, n: int) -> list[str]:
    rows = []
    for stored in (1, 50):
        engine = await open_database(f"sqlite:///{directory}/bench-{stored}.db")
        try:
            store = KnowledgeVersionStore(engine)
            for version in range(stored):
                await store.add(
                    version, DEMO.replace("45 pounds", f"{45 + version} pounds"), "console", "bench"
                )
            source = KnowledgeSource(store, DEMO_KNOWLEDGE_FILE)
            await source.for_request()  # the document, fetched once per version
            times = await timed_async(source.for_request, n)
            rows.append(summary(f"gateway: newest version per call, SQLite, {stored} stored", times))
        finally:
            await engine.dispose()
    return rows


async def agent_rows(directory: Path, n: int) -> list[str]:
    teacher = Teacher(dataclasses.replace(AgentSettings(), data_dir=directory), None)
    knowledge = parse_knowledge(DEMO, "demo")
    rows = [
        summary("agent: parse_knowledge (the demo, 3.4 KB)", timed(lambda: parse_knowledge(DEMO, "demo"), n)),
        summary(
            "agent: build a version (receptionist)", timed(lambda: teacher.taught(knowledge, 1), n // 10)
        ),
    ]
    versions = KnowledgeVersions(teacher.taught)
    sent = agent_pb2.KnowledgeVersion(version=1, document=DEMO)
    await versions.resolve(sent)
    rows.append(
        summary("agent: a version already built", await timed_async(lambda: versions.resolve(sent), n))
    )
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=1000, help="repetitions of each measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rows = await gateway_rows(Path(directory), args.n) + await agent_rows(Path(directory), args.n)
    print("| what | median ms | p95 ms | n |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
