"""The Chat RPC on a running agent: the brain answers, actions arrive, memory survives a restart, and
LLM_PROVIDER=openai layers a (loopback) LLM behind the receptionist with fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from agentlocator.agent.v1 import agent_pb2, agent_pb2_grpc

from agent_service.brain.receptionist import DONT_KNOW
from tests.brain.fake_openai import FakeOpenAi, Reply
from tests.conftest import AgentFactory
from tests.procs import ServerProcess

pytestmark = pytest.mark.integration


class ChatClient:
    def __init__(self, agent: ServerProcess) -> None:
        self._channel = grpc.insecure_channel(f"127.0.0.1:{agent.port}")
        self._stub = agent_pb2_grpc.AgentServiceStub(self._channel)

    def say(self, text: str, conversation_id: str = "wa-447700900123", request_id: str = "") -> Any:
        request = agent_pb2.ChatRequest(
            conversation_id=conversation_id,
            text=text,
            channel=agent_pb2.CHANNEL_WHATSAPP,
            from_address="+447700900123",
            request_id=request_id,
        )
        return self._stub.Chat(request, timeout=60)

    def close(self) -> None:
        self._channel.close()


@pytest.fixture
def chat(start_agent: AgentFactory, tmp_path: Path) -> Iterator[tuple[ChatClient, Path]]:
    client = ChatClient(start_agent(AGENT_DATA_DIR=str(tmp_path)))
    yield client, tmp_path
    client.close()


def test_chat_answers_from_the_knowledge_and_returns_actions(chat: tuple[ChatClient, Path]) -> None:
    client, _ = chat
    assert client.say("where are you based?").text.startswith("We're at 42 Harbour Street")
    transfer = client.say("can I talk to a real person")
    assert [a.WhichOneof("action") for a in transfer.actions] == ["transfer"]
    assert transfer.actions[0].transfer.number == "+441273000111"
    address = client.say("can you send me the address on whatsapp?")
    assert address.actions[0].send_whatsapp.to == "+447700900123"
    assert "42 Harbour Street" in address.actions[0].send_whatsapp.text


def test_a_message_taken_over_chat_survives_an_agent_restart(
    chat: tuple[ChatClient, Path], start_agent: AgentFactory
) -> None:
    client, data_dir = chat
    assert client.say("do you do braces?").text == DONT_KNOW
    assert client.say("I'll leave a message").text.endswith("What's your name?")
    assert client.say("Jo Bloggs").text == "Thank you, Jo Bloggs. What would you like me to pass on?"
    restarted = ChatClient(start_agent(AGENT_DATA_DIR=str(data_dir)))
    try:
        assert restarted.say("braces for my son").text == (
            "Let me read that back: Jo Bloggs, on the number you're calling from, +447700900123. "
            "Is that right?"
        )
        done = restarted.say("yes", request_id="wa-msg-7")
        again = restarted.say("yes", request_id="wa-msg-7")  # the gateway lost the answer and asks again
    finally:
        restarted.close()
    assert [a.WhichOneof("action") for a in done.actions] == ["taken_message"]
    message = done.actions[0].taken_message
    assert (message.name, message.number, message.reason, message.number_is_caller_id) == (
        "Jo Bloggs",
        "+447700900123",
        "Braces for my son",
        True,
    )
    assert (message.channel, message.conversation_id, message.caller) == (
        agent_pb2.CHANNEL_WHATSAPP,
        "wa-447700900123",
        "+447700900123",
    )
    assert len(message.message_id) == 32 and message.taken_at_ms > 0
    assert again == done and done.history_turns == 10  # the same answer, the turn counted once


def test_with_an_openai_provider_the_llm_answers_what_the_receptionist_cannot(
    start_agent: AgentFactory, fake_openai: FakeOpenAi
) -> None:
    agent = start_agent(
        LLM_PROVIDER="openai", LLM_BASE_URL=fake_openai.base_url, LLM_MODEL="fake-model", LLM_MAX_RETRIES="1"
    )
    client = ChatClient(agent)
    try:
        fake_openai.script(Reply(("Any fluoride toothpaste is fine.",)), Reply(status=500), Reply(status=500))
        assert client.say("what time do you close today?").text.startswith("We're open Monday to Friday")
        assert client.say("which toothpaste should I use?").text == "Any fluoride toothpaste is fine."
        # The provider fails (500, retried once by the client, 500 again): the receptionist's deferral.
        assert client.say("what's your view on electric toothbrushes?").text == DONT_KNOW
    finally:
        client.close()
    assert len(fake_openai.requests) == 3
    # The LLM sees the whole conversation, including the turn the receptionist answered.
    first = fake_openai.requests[0]["messages"]
    assert [m["content"] for m in first[-3:]] == [
        "what time do you close today?",
        first[-2]["content"],
        "which toothpaste should I use?",
    ]
    assert first[-2]["role"] == "assistant" and first[-2]["content"].startswith("We're open")
