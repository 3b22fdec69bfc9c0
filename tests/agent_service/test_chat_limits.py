"""Chat's fields are bounded: an oversized text, chat id or contact is refused whole, naming the field,
counted, and stores nothing (five 3.9 MB texts used to grow the agent's conversation store by 15.6 MB)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from agentlocator.agent.v1 import agent_pb2, agent_pb2_grpc

from agent_service.chat_limits import (
    MAX_CONVERSATION_ID_CHARS,
    MAX_FROM_ADDRESS_CHARS,
    MAX_METADATA_ENTRIES,
    MAX_REQUEST_ID_CHARS,
    MAX_TEXT_CHARS,
)
from tests.conftest import AgentFactory
from tests.procs import ServerProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def agent(start_agent: AgentFactory, tmp_path: Path) -> ServerProcess:
    return start_agent(AGENT_DATA_DIR=str(tmp_path))


@pytest.fixture
def stub(agent: ServerProcess) -> Iterator[agent_pb2_grpc.AgentServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{agent.port}") as channel:
        yield agent_pb2_grpc.AgentServiceStub(channel)


def chat(stub: agent_pb2_grpc.AgentServiceStub, **fields: object) -> agent_pb2.ChatResponse:
    request = agent_pb2.ChatRequest(conversation_id="wa-1", text="hello")
    for name, value in fields.items():
        if name == "metadata":
            assert isinstance(value, dict)
            request.metadata.update(value)
        else:
            setattr(request, name, value)
    response: agent_pb2.ChatResponse = stub.Chat(request, timeout=60)
    return response


def refused(stub: agent_pb2_grpc.AgentServiceStub, **fields: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        chat(stub, **fields)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return raised.value


def refused_total(agent: ServerProcess, field: str) -> float:
    port = re.search(r"\bport=(\d+)", agent.wait_for("AGENT_METRICS_LISTENING"))
    assert port is not None
    text = httpx.get(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=30).text
    sample = f'agentlocator_agent_chats_refused_total{{field="{field}"}}'
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_a_megabyte_text_is_invalid_argument_naming_the_field_and_stores_nothing(
    agent: ServerProcess, stub: agent_pb2_grpc.AgentServiceStub, tmp_path: Path
) -> None:
    assert chat(stub, text="where are you based?").history_turns == 2
    store = tmp_path / "conversations.sqlite3"
    before = sum(p.stat().st_size for p in tmp_path.glob("conversations.sqlite3*"))
    for _ in range(5):
        error = refused(stub, text="a" * 3_900_000)
        assert error.details() == (
            f"ChatRequest.text is 3900000 characters; at most {MAX_TEXT_CHARS} are accepted"
        )
    after = sum(p.stat().st_size for p in tmp_path.glob("conversations.sqlite3*"))
    assert store.exists() and after - before < 100_000
    assert chat(stub, text="are you open on saturday?").history_turns == 4  # nothing refused was kept
    assert refused_total(agent, "text") == 5
    agent.wait_for("CHAT_REFUSED field=text")


def test_a_text_of_exactly_the_limit_is_answered(stub: agent_pb2_grpc.AgentServiceStub) -> None:
    long_question = ("where are you based? " * 400)[:MAX_TEXT_CHARS]
    assert chat(stub, text=long_question).text


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        (
            {"conversation_id": "w" * (MAX_CONVERSATION_ID_CHARS + 1)},
            f"ChatRequest.conversation_id is {MAX_CONVERSATION_ID_CHARS + 1} characters; "
            f"at most {MAX_CONVERSATION_ID_CHARS} are accepted",
        ),
        (
            {"from_address": "+" + "4" * MAX_FROM_ADDRESS_CHARS},
            f"ChatRequest.from_address is {MAX_FROM_ADDRESS_CHARS + 1} characters; "
            f"at most {MAX_FROM_ADDRESS_CHARS} are accepted",
        ),
        (
            {"request_id": "r" * (MAX_REQUEST_ID_CHARS + 1)},
            f"ChatRequest.request_id is {MAX_REQUEST_ID_CHARS + 1} characters; "
            f"at most {MAX_REQUEST_ID_CHARS} are accepted",
        ),
        (
            {"metadata": {f"k{i}": "v" for i in range(MAX_METADATA_ENTRIES + 1)}},
            f"ChatRequest.metadata has {MAX_METADATA_ENTRIES + 1} entries; "
            f"at most {MAX_METADATA_ENTRIES} are accepted",
        ),
        ({"metadata": {"provider": "x" * 10_000}}, "ChatRequest.metadata has an entry over"),
        ({"conversation_id": ""}, "ChatRequest.conversation_id is required"),
        ({"text": "  "}, "ChatRequest.text is required"),
    ],
)
def test_an_oversized_or_missing_field_is_invalid_argument_naming_it(
    stub: agent_pb2_grpc.AgentServiceStub, fields: dict[str, object], detail: str
) -> None:
    assert refused(stub, **fields).details().startswith(detail)
