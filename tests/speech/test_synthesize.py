"""The Synthesize RPC on a real agent process: the greeting as a caller hears it, and every refusal."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from agentlocator.agent.v1 import agent_pb2 as pb
from agentlocator.agent.v1 import agent_pb2_grpc

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, load_knowledge
from agent_service.speech.whisper_stt import WhisperStt
from agent_service.synthesis import MAX_TEXT_CHARS
from agentlocator_common import telephone_audio
from tests.procs import ServerProcess
from tests.speech.conftest import words

pytestmark = pytest.mark.integration


async def synthesize(agent: ServerProcess, request: pb.SynthesizeRequest) -> pb.SynthesizeResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{agent.port}") as channel:
        reply: pb.SynthesizeResponse = await agent_pb2_grpc.AgentServiceStub(channel).Synthesize(request)
        return reply


async def test_the_greeting_comes_back_as_the_telephone_audio_a_caller_hears(
    agent: ServerProcess, whisper: WhisperStt
) -> None:
    reply = await synthesize(agent, pb.SynthesizeRequest(greeting=True, encoding=pb.AUDIO_ENCODING_MULAW_8K))
    greeting = load_knowledge(DEMO_KNOWLEDGE_FILE).greeting
    assert reply.text == greeting
    assert (reply.encoding, reply.sample_rate_hz, reply.tts) == (pb.AUDIO_ENCODING_MULAW_8K, 8000, "piper")
    assert len(reply.audio) > 8000  # over a second of speech
    heard = await whisper.transcribe(
        telephone_audio.mulaw_decode(reply.audio), telephone_audio.TELEPHONE_RATE
    )
    # Piper samples a little noise into every rendition, so only the plainest words are checked.
    assert {"thank", "calling", "help", "today"} <= set(words(heard)), heard


async def test_any_text_comes_back_at_the_voices_own_rate_as_linear16(
    agent: ServerProcess, whisper: WhisperStt
) -> None:
    text = "  Your appointment is on Tuesday.  "
    request = pb.SynthesizeRequest(text=text, encoding=pb.AUDIO_ENCODING_LINEAR16)
    reply = await synthesize(agent, request)
    assert (reply.text, reply.sample_rate_hz) == ("Your appointment is on Tuesday.", 22050)
    assert len(reply.audio) % 2 == 0
    heard = await whisper.transcribe(np.frombuffer(reply.audio, "<i2"), reply.sample_rate_hz)
    assert {"appointment", "tuesday"} <= set(words(heard)), heard


@pytest.mark.parametrize(
    ("request_", "detail"),
    [
        (pb.SynthesizeRequest(encoding=pb.AUDIO_ENCODING_MULAW_8K), "needs a non-empty `text`"),
        (pb.SynthesizeRequest(text="   ", encoding=pb.AUDIO_ENCODING_MULAW_8K), "needs a non-empty `text`"),
        (pb.SynthesizeRequest(greeting=False, encoding=pb.AUDIO_ENCODING_MULAW_8K), "or `greeting: true`"),
        (
            pb.SynthesizeRequest(text="a" * (MAX_TEXT_CHARS + 1), encoding=pb.AUDIO_ENCODING_MULAW_8K),
            f"{MAX_TEXT_CHARS + 1} characters; the limit is {MAX_TEXT_CHARS}",
        ),
        (pb.SynthesizeRequest(greeting=True), "SynthesizeRequest.encoding must be"),
        (
            pb.SynthesizeRequest(greeting=True, encoding=pb.AUDIO_ENCODING_MULAW_8K, tts="espeak"),
            "SynthesizeRequest.tts='espeak': unknown; known: openai, piper",
        ),
    ],
    ids=["nothing", "blank", "greeting-false", "too-long", "no-encoding", "unknown-voice"],
)
async def test_a_bad_synthesize_request_is_invalid_argument_naming_the_field(
    agent: ServerProcess, request_: pb.SynthesizeRequest, detail: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await synthesize(agent, request_)
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert detail in (failed.value.details() or "")
    # The process keeps serving after each refusal.
    again = pb.SynthesizeRequest(text="Still here.", encoding=pb.AUDIO_ENCODING_MULAW_8K)
    reply = await synthesize(agent, again)
    assert reply.audio
