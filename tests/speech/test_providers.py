"""Each provider on real audio made in the test: Piper speaks, Whisper listens, Silero tells them apart
from line noise; the OpenAI-compatible providers go through a loopback server speaking that HTTP API."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.registry import build_brain
from agent_service.errors import ModelLoadError, ProtocolError, ProviderError
from agent_service.knowledge import load_knowledge
from agent_service.pipelines.conversation import ConversationCalls, ConversationConfig
from agent_service.pipelines.conversation.resumption import CallHistories
from agent_service.settings import AgentSettings
from agent_service.speech.checksums import verify
from agent_service.speech.openai_compat import OpenAiStt, OpenAiTts, parse_wav, wav_bytes
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.registry import SpeechConfig, SpeechRegistry
from agent_service.speech.silero import SileroVad
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio
from tests.speech.conftest import line_noise, telephone, words
from tests.speech.fake_speech_api import FakeSpeechApi
from tests.speech.pipeline_harness import PlayoutOutlet, call_info

QUESTION = "What are your opening hours on Saturday?"


async def test_whisper_understands_piper_through_the_telephone_path(
    piper: PiperTts, whisper: WhisperStt
) -> None:
    wire = telephone(piper, QUESTION)
    text = await whisper.transcribe(telephone_audio.mulaw_decode(wire), telephone_audio.TELEPHONE_RATE)
    assert words(text) == words(QUESTION)


async def test_piper_speaks_a_sentence_at_its_own_rate(piper: PiperTts) -> None:
    speech = await piper.synthesize("Thank you for calling.")
    assert speech.sample_rate == 22050
    assert 0.5 < len(speech.pcm) / speech.sample_rate < 3.0
    assert np.abs(speech.pcm).max() > 3000  # audible, not silence


def probabilities(vad: SileroVad, wire: bytes) -> list[float]:
    stream = vad.open_stream()
    out = [stream.process(telephone_audio.mulaw_decode(frame)) for frame in telephone_audio.frames(wire)]
    return [p for p in out if p is not None]


def test_silero_hears_speech_at_8khz_and_ignores_line_noise(piper: PiperTts, silero: SileroVad) -> None:
    noise = probabilities(silero, line_noise(2.0))
    speech = probabilities(silero, telephone(piper, QUESTION))
    assert max(noise) < 0.35
    assert sum(p >= 0.5 for p in speech) > len(speech) // 2


def test_each_call_gets_its_own_vad_state(piper: PiperTts, silero: SileroVad) -> None:
    wire = telephone(piper, QUESTION)
    first = probabilities(silero, wire)
    silero.open_stream().process(telephone_audio.mulaw_decode(line_noise(1.0)))  # another call, interleaved
    assert probabilities(silero, wire) == first


def test_a_model_file_that_does_not_match_its_pinned_hash_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"not the model")
    with pytest.raises(ModelLoadError, match="sha256"):
        verify(model, "0" * 64)


def test_the_registry_names_unknown_providers_and_skips_other_keys() -> None:
    registry = SpeechRegistry(SpeechConfig.from_settings(AgentSettings.from_env({})))
    assert registry.check_overrides({"stt": "openai", "llm": "x"}) == {
        "vad": "silero",
        "stt": "openai",
        "tts": "piper",
    }
    with pytest.raises(
        ProtocolError, match=r"provider_overrides\['tts'\]='espeak': unknown; known: openai, piper"
    ):
        registry.check_overrides({"tts": "espeak"})


@pytest.fixture
async def speech_api(whisper: WhisperStt, piper: PiperTts) -> AsyncIterator[FakeSpeechApi]:
    api = FakeSpeechApi(whisper, piper)
    await api.start()
    yield api
    await api.stop()


async def test_openai_compatible_stt_sends_a_wav_and_returns_the_text(
    speech_api: FakeSpeechApi, piper: PiperTts
) -> None:
    stt = OpenAiStt(speech_api.base_url, speech_api.api_key, "whisper-1", language="en")
    wire = telephone(piper, QUESTION)
    try:
        text = await stt.transcribe(telephone_audio.mulaw_decode(wire), telephone_audio.TELEPHONE_RATE)
    finally:
        await stt.aclose()
    assert words(text) == words(QUESTION)
    assert speech_api.requests == [{"path": "/v1/audio/transcriptions", "model": "whisper-1", "rate": 8000}]


async def test_openai_compatible_tts_returns_speech_whisper_can_understand(
    speech_api: FakeSpeechApi, whisper: WhisperStt
) -> None:
    tts = OpenAiTts(speech_api.base_url, speech_api.api_key, "tts-1", "alloy")
    try:
        speech = await tts.synthesize("Thank you for calling the dental clinic.")
    finally:
        await tts.aclose()
    heard = await whisper.transcribe(speech.pcm, speech.sample_rate)
    assert words(heard) == words("Thank you for calling the dental clinic.")
    assert speech_api.requests[0]["voice"] == "alloy" and speech_api.requests[0]["response_format"] == "wav"


async def test_an_http_error_from_the_speech_server_is_a_clear_speech_error(
    speech_api: FakeSpeechApi,
) -> None:
    speech_api.fail_with = 503
    tts = OpenAiTts(speech_api.base_url, speech_api.api_key, "tts-1", "alloy")
    wrong_key = OpenAiStt(speech_api.base_url, "sk-wrong", "whisper-1")
    try:
        with pytest.raises(ProviderError, match=r"audio/speech answered 503: .*overloaded"):
            await tts.synthesize("Hello.")
        with pytest.raises(ProviderError, match="answered 401"):
            await wrong_key.transcribe(np.zeros(800, np.int16), 8000)
    finally:
        await tts.aclose()
        await wrong_key.aclose()


async def test_an_unreachable_speech_server_is_a_clear_speech_error() -> None:
    stt = OpenAiStt("http://127.0.0.1:9/v1", "", "whisper-1", timeout_s=2.0)
    try:
        with pytest.raises(
            ProviderError, match=r"POST http://127.0.0.1:9/v1/audio/transcriptions failed: Connect"
        ):
            await stt.transcribe(np.zeros(800, np.int16), 8000)
    finally:
        await stt.aclose()


def test_wav_parsing_accepts_a_streaming_header_and_rejects_non_wav() -> None:
    pcm = (np.arange(100) * 10).astype(np.int16)
    data = bytearray(wav_bytes(pcm, 24000))
    data[4:8] = b"\xff\xff\xff\xff"
    data[40:44] = b"\xff\xff\xff\xff"  # sizes unknown while streaming, as some servers send them
    parsed = parse_wav(bytes(data))
    assert parsed.sample_rate == 24000 and parsed.pcm.tolist() == pcm.tolist()
    with pytest.raises(ProviderError, match="not a WAV"):
        parse_wav(b"ID3\x03mp3 data here")


async def test_a_call_asking_for_an_unknown_provider_ends_with_invalid_argument_naming_it() -> None:
    settings = AgentSettings.from_env({})
    calls = ConversationCalls(
        ConversationConfig(),
        SpeechRegistry(SpeechConfig.from_settings(settings)),
        build_brain(settings, load_knowledge(settings.knowledge_file)),
        CallHistories(max_ended=1),
    )
    info = dataclasses.replace(call_info(), provider_overrides={"stt": "vosk"})
    pipeline = calls.open_call(info, PlayoutOutlet())
    with pytest.raises(
        ProtocolError, match=r"provider_overrides\['stt'\]='vosk': unknown; known: openai, whisper"
    ):
        await pipeline.on_audio(agent_pb2.AudioIn(audio=b"\xff" * 160))
