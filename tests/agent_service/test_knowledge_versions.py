"""Knowledge versions sent with a request: answered from without a restart, a bad one falls back."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from agentlocator.agent.v1 import agent_pb2

from agent_service.composition import Teacher
from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, Knowledge
from agent_service.knowledge_versions import KnowledgeVersions
from agent_service.pipelines.base import Taught
from agent_service.settings import AgentSettings
from tests.agent_service.client import agent_stub, read_until, start_call
from tests.conftest import AgentFactory, AgentProcess

DEMO = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8")
OLD_SATURDAY = "Saturday from 9 am to 1 pm"
NEW_SATURDAY = "Saturday from 10 am to 2 pm"
EDITED = DEMO.replace(OLD_SATURDAY, NEW_SATURDAY).replace("saturday: 09:00-13:00", "saturday: 10:00-14:00")
NEW_GREETING = "Good day, Bright Smile Dental here. What can I do for you?"
GREETED = DEMO.replace(
    "greeting: Hello, thank you for calling Bright Smile Dental Clinic. How can I help you today?",
    f"greeting: {NEW_GREETING}",
)
NEGATIVE_PRICE = EDITED.replace("price: 45 pounds", "price: -45 pounds")


def chat(text: str, n: int, knowledge: agent_pb2.KnowledgeVersion | None = None) -> agent_pb2.ChatRequest:
    request = agent_pb2.ChatRequest(
        conversation_id=f"test:{n}", text=text, channel=agent_pb2.CHANNEL_WHATSAPP
    )
    if knowledge is not None:
        request.knowledge.CopyFrom(knowledge)
    return request


async def test_a_chat_answers_from_the_version_it_carries_and_without_one_from_the_start_up_file(
    agent: AgentProcess,
) -> None:
    edited = agent_pb2.KnowledgeVersion(version=2, document=EDITED)
    async with agent_stub(agent.port) as stub:
        before = await stub.Chat(chat("Are you open on Saturday?", 1))
        after = await stub.Chat(chat("Are you open on Saturday?", 2, edited))
        again = await stub.Chat(chat("When are you open on Saturday?", 3, edited))
        old_gateway = await stub.Chat(chat("Are you open on Saturday?", 4))
    assert OLD_SATURDAY in before.text and NEW_SATURDAY in after.text and NEW_SATURDAY in again.text
    assert OLD_SATURDAY in old_gateway.text  # a request without a version: the start-up knowledge
    # Built once and kept for the next request naming the same document.
    assert len(agent.matching("KNOWLEDGE_VERSION_BUILT version=2 ")) == 1


async def test_a_version_the_agent_cannot_load_is_logged_naming_the_key_and_answered_from_the_start_up_file(
    agent: AgentProcess,
) -> None:
    bad = agent_pb2.KnowledgeVersion(version=3, document=NEGATIVE_PRICE)
    async with agent_stub(agent.port) as stub:
        first = await stub.Chat(chat("Are you open on Saturday?", 5, bad))
        second = await stub.Chat(chat("How much is a check-up?", 6, bad))
    assert OLD_SATURDAY in first.text
    assert "45 pounds" in second.text and "-45" not in second.text
    refused = agent.matching("KNOWLEDGE_VERSION_REFUSED version=3 ")
    assert len(refused) == 1  # remembered: not parsed again per request
    assert "key 'services.price': must not be negative" in refused[0]


async def test_a_call_greets_with_the_greeting_of_the_version_its_session_start_carries(
    start_agent: AgentFactory,
) -> None:
    agent = start_agent(AGENT_PIPELINE="conversation", AGENT_WARM_UP="false")
    greeted = agent_pb2.KnowledgeVersion(version=4, document=GREETED)
    async with agent_stub(agent.port) as stub:
        call = await start_call(stub, "CA-taught", knowledge=greeted)
        said, _ = await asyncio.wait_for(read_until(call, "transcript"), 60)
        call.cancel()
        synthesized = await stub.Synthesize(
            agent_pb2.SynthesizeRequest(
                greeting=True, encoding=agent_pb2.AUDIO_ENCODING_MULAW_8K, knowledge=greeted
            )
        )
    assert said.transcript.text == NEW_GREETING
    assert synthesized.text == NEW_GREETING


async def test_a_version_asked_for_by_several_requests_at_once_is_built_once_and_the_oldest_is_let_go(
    tmp_path: Path,
) -> None:
    settings = dataclasses.replace(AgentSettings(), data_dir=tmp_path)
    built: list[int] = []
    teacher = Teacher(settings, None)

    def teach(knowledge: Knowledge, version: int) -> Taught:
        built.append(version)
        return teacher.taught(knowledge, version)

    versions = KnowledgeVersions(teach, capacity=2)

    def sent(version: int) -> agent_pb2.KnowledgeVersion:
        document = DEMO.replace("price: 45 pounds", f"price: {40 + version} pounds")
        return agent_pb2.KnowledgeVersion(version=version, document=document)

    together = await asyncio.gather(*(versions.resolve(sent(1)) for _ in range(5)))
    assert built == [1] and all(t is together[0] for t in together)
    assert together[0] is not None and together[0].version == 1
    await versions.resolve(sent(2))
    await versions.resolve(sent(3))  # past the capacity of 2: version 1 is let go
    assert await versions.resolve(sent(3)) is not None and built == [1, 2, 3]
    await versions.resolve(sent(1))
    assert built == [1, 2, 3, 1]
    assert await versions.resolve(agent_pb2.KnowledgeVersion()) is None  # unset: the start-up knowledge


async def test_a_valid_version_whose_parts_fail_to_build_is_refused_and_the_request_falls_back(
    tmp_path: Path,
) -> None:
    # BUSINESS_TIMEZONE set to a zone the database lacks only fails once a version with opening hours is
    # built: the request is answered from the start-up knowledge instead of failing.
    settings = dataclasses.replace(AgentSettings(), data_dir=tmp_path)
    broken = dataclasses.replace(
        settings, calendar=dataclasses.replace(settings.calendar, business_timezone="Mars/Olympus_Mons")
    )
    versions = KnowledgeVersions(Teacher(broken, None).taught)
    assert await versions.resolve(agent_pb2.KnowledgeVersion(version=9, document=EDITED)) is None
