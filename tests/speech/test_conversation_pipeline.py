"""The conversation pipeline in-process with the real models and the receptionist brain; the media
clock is the frames the caller has streamed, so barge-in latency is counted in frames, not wall time."""

from __future__ import annotations

import numpy as np
import pytest
from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.closing import BEFORE_YOU_GO
from agent_service.pipelines.conversation import ConversationConfig
from agent_service.speech.openai_compat import OpenAiStt
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.turns import TurnPolicy
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio
from tests.speech.conftest import line_noise, telephone, words
from tests.speech.fake_speech_api import FakeSpeechApi
from tests.speech.pipeline_harness import Caller, PlayoutOutlet, open_pipeline

HOURS = "We're open Monday to Friday from 8:30 am to 6 pm, and Saturday from 9 am to 1 pm."
CONFIG = ConversationConfig(greeting="Hello, how can I help?", no_input_ms=4000, turns=TurnPolicy())


def trim_leading_silence(wire: bytes) -> bytes:
    """Start the caller's speech at its first loud frame, so frames are counted from speech onset."""
    for index, frame in enumerate(telephone_audio.frames(wire)):
        if np.abs(telephone_audio.mulaw_decode(frame).astype(np.int32)).max() > 1000:
            return wire[index * telephone_audio.FRAME_BYTES :]
    raise AssertionError("no speech in the audio")


def user_transcripts(outlet: PlayoutOutlet) -> list[str]:
    return [t.transcript.text for t in outlet.of("transcript") if t.transcript.role == agent_pb2.ROLE_USER]


async def greeted(caller: Caller) -> None:
    outlet = caller.outlet
    await outlet.until(lambda o: len(o.of("mark")) == 1)
    while outlet.queued_ms:
        await caller.send_frame(line_noise(0.02))
    await caller.stream(line_noise(0.2))


async def test_the_agent_greets_then_answers_a_spoken_question_from_the_knowledge(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, whisper, piper, CONFIG)
    caller = Caller(pipeline, outlet)
    try:
        await greeted(caller)
        await caller.stream(telephone(piper, "What are your opening hours?") + line_noise(0.7))
        await outlet.until(lambda o: any(m.metrics.turn_latency_ms for m in o.of("metrics")))
    finally:
        await pipeline.aclose()
    user = [t.transcript.text for t in outlet.of("transcript") if t.transcript.role == agent_pb2.ROLE_USER]
    assert len(user) == 1 and "opening" in words(user[0])  # tiny.en sometimes hears "hours" as "now"
    assert [turn.role for turn in pipeline.history] == ["agent", "user", "agent"]
    assert pipeline.history[2].text.startswith(HOURS)
    kinds = [e.turn_event.kind for e in outlet.of("turn_event")]
    assert kinds[:3] == [
        agent_pb2.TURN_EVENT_KIND_AGENT_STARTED_SPEAKING,
        agent_pb2.TURN_EVENT_KIND_AGENT_STOPPED_SPEAKING,
        agent_pb2.TURN_EVENT_KIND_USER_STARTED_SPEAKING,
    ]
    metrics = [m.metrics for m in outlet.of("metrics") if m.metrics.turn_latency_ms][0]
    assert metrics.endpointing_ms == CONFIG.turns.hangover_ms
    assert pipeline.errors == 0


async def test_barging_in_clears_playback_within_15_frames_and_keeps_only_what_was_heard(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, whisper, piper, CONFIG)
    caller = Caller(pipeline, outlet)
    try:
        await greeted(caller)
        await caller.stream(telephone(piper, "What are your opening hours?") + line_noise(0.7))
        await outlet.until(lambda o: len(o.of("mark")) == 2)  # the answer's first sentence is queued
        await caller.stream(line_noise(1.5))  # the caller listens to 1.5 s of it
        interruption = trim_leading_silence(telephone(piper, "Sorry, are you open on Sunday?", seed=5))
        onset = outlet.frames_fed
        await caller.stream(interruption)
        await caller.stream(line_noise(0.7))
        await outlet.until(lambda o: len(user_transcripts(o)) == 2)
    finally:
        await pipeline.aclose()
    assert len(outlet.clears_at_frame) == 1
    frames_of_speech_before_clear = outlet.clears_at_frame[0] - onset
    assert frames_of_speech_before_clear < 15
    heard = [turn for turn in pipeline.history if turn.role == "agent"][1].text
    assert heard.endswith("…") and HOURS.startswith(heard.rstrip("…"))
    assert 2 <= len(heard.split()) < len(HOURS.split())  # ~1.5 s of a ~6 s sentence
    final_agent = [t.transcript.text for t in outlet.of("transcript") if t.transcript.is_final]
    assert heard in final_agent  # the transcript says what was heard, not what was sent
    print(f"clear after {frames_of_speech_before_clear} frames of caller speech")
    user_turns = [turn.text for turn in pipeline.history if turn.role == "user"]
    assert "sunday" in words(user_turns[-1])


async def test_a_short_mm_hm_while_the_agent_talks_does_not_interrupt(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, whisper, piper, CONFIG)
    caller = Caller(pipeline, outlet)
    try:
        await outlet.until(lambda o: len(o.of("mark")) == 1)
        await caller.stream(line_noise(0.3))
        # 80 ms of sound: Silero's probability stays up ~100 ms after it, so the VAD sees ~180 ms.
        burst = trim_leading_silence(telephone(piper, "Hm.", seed=7))[: 4 * telephone_audio.FRAME_BYTES]
        await caller.stream(burst + line_noise(0.8))
    finally:
        await pipeline.aclose()
    assert outlet.clears_at_frame == []
    assert [turn.role for turn in pipeline.history] == ["agent"]


@pytest.mark.parametrize("digits", ["1#"])
async def test_dtmf_digits_arrive_as_user_input(
    digits: str, piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, whisper, piper, CONFIG)
    try:
        await outlet.until(lambda o: len(o.of("mark")) == 1)
        for digit in digits:
            await pipeline.on_dtmf(digit)
        await outlet.until(lambda o: len(o.of("mark")) >= 2)
    finally:
        await pipeline.aclose()
    assert pipeline.history[1].role == "user" and pipeline.history[1].text == "1"


async def test_silence_gets_one_prompt_then_an_offer_then_a_polite_goodbye_and_the_end_of_the_call(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, whisper, piper, CONFIG)
    caller = Caller(pipeline, outlet)
    try:
        await greeted(caller)
        for _ in range(6 * CONFIG.no_input_ms // 20):  # bounded: three silences and the prompts between
            if outlet.of("end_call"):
                break
            await caller.send_frame(line_noise(0.02, seed=caller.media_ms))
    finally:
        await pipeline.aclose()
    said = [turn.text for turn in pipeline.history]
    assert said == [CONFIG.greeting, CONFIG.no_input_prompt, CONFIG.no_input_offer, CONFIG.no_input_goodbye]
    assert outlet.of("end_call")[0].end_call.goodbye_sent


async def test_a_goodbye_is_spoken_before_the_call_is_ended(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, whisper, piper, CONFIG)
    caller = Caller(pipeline, outlet)
    try:
        await greeted(caller)
        # A goodbye ends the call only as the answer to "anything else?" (tests/brain/test_no_wrong_hang_up).
        await caller.stream(telephone(piper, "Thank you, goodbye.") + line_noise(0.7))
        await outlet.until(lambda o: len(o.of("mark")) == 2)
        while outlet.queued_ms:
            await caller.send_frame(line_noise(0.02))
        assert pipeline.history[-1].text == BEFORE_YOU_GO and not outlet.of("end_call")
        await caller.stream(line_noise(0.3) + telephone(piper, "No, that's all.", seed=4) + line_noise(0.7))
        await outlet.until(lambda o: bool(o.of("end_call")))
    finally:
        await pipeline.aclose()
    kinds = [r.WhichOneof("event") for r in outlet.sent]
    end = kinds.index("end_call")
    last_audio = max(i for i, kind in enumerate(kinds) if kind == "audio_out")
    assert last_audio < end and "mark" in kinds[last_audio:end]  # the gateway ends after that mark plays
    assert outlet.of("end_call")[0].end_call == agent_pb2.EndCall(reason="goodbye", goodbye_sent=True)
    assert pipeline.history[-1].text.endswith("Goodbye!")


async def test_a_failing_stage_gives_the_caller_a_short_apology_not_dead_air(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    api = FakeSpeechApi(whisper, piper, fail_with=503)
    await api.start()
    broken_stt = OpenAiStt(api.base_url, api.api_key, "whisper-1")
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, broken_stt, piper, CONFIG)
    caller = Caller(pipeline, outlet)
    try:
        await greeted(caller)
        await caller.stream(telephone(piper, "What are your opening hours?") + line_noise(0.7))
        await outlet.until(lambda o: len(o.of("mark")) == 2)
    finally:
        await pipeline.aclose()
        await broken_stt.aclose()
        await api.stop()
    assert [turn.text for turn in pipeline.history] == [CONFIG.greeting, CONFIG.apology]
    assert pipeline.errors == 1
