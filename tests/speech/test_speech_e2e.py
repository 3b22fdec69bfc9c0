"""End to end: the simulator calls the gateway in AI mode, the agent runs the `conversation` pipeline
with the embedded models; the caller asks about the demo business and Whisper checks what it heard."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import numpy as np
import pytest

from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio
from tests.conftest import AgentFactory, GatewayFactory
from tests.speech.conftest import line_noise, telephone, words
from voice_gateway.storage.calls import CallLog
from voice_gateway.tools.simulate import CallOptions, simulate_call

pytestmark = pytest.mark.integration

GREETING = "Hello, how can I help?"


async def test_a_caller_asks_the_opening_hours_and_hears_them(
    start_agent: AgentFactory, start_gateway: GatewayFactory, piper: PiperTts, whisper: WhisperStt
) -> None:
    agent = start_agent(AGENT_PIPELINE="conversation", AGENT_GREETING=GREETING, AGENT_METRICS_INTERVAL_S="0")
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}")
    question = telephone(piper, "What are your opening hours?")
    caller_audio = line_noise(3.0) + question + line_noise(7.0)
    options = CallOptions(base_url=f"http://127.0.0.1:{gateway.port}", audio=caller_audio, tail_s=2.0)

    report = await simulate_call(options)

    assert report.twilio_warnings == [] and report.clears_received == 0
    asked_at = 3 * telephone_audio.TELEPHONE_RATE  # the heard audio runs on the same 8 kHz media clock
    greeting_heard = await whisper.transcribe(telephone_audio.mulaw_decode(report.heard[:asked_at]), 8000)
    answer_heard = await whisper.transcribe(telephone_audio.mulaw_decode(report.heard[asked_at:]), 8000)
    assert words(greeting_heard) == words(GREETING)
    assert {"monday", "friday", "saturday"} <= set(words(answer_heard))
    metrics = agent.wait_for("SPEECH_TURN_METRICS")
    # The same turn lands in the agent's Prometheus histograms, one observation per stage reached.
    metrics_port = int(agent.wait_for("AGENT_METRICS_LISTENING").rsplit("port=", 1)[1])
    async with httpx.AsyncClient() as http:
        scrape = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    for stage in ("endpointing", "stt", "llm_first_token", "tts_first_audio", "voice_to_voice"):
        count = re.search(
            rf'^agentlocator_agent_turn_stage_seconds_count{{stage="{stage}"}} (\S+)$', scrape, re.M
        )
        assert count is not None and float(count.group(1)) >= 1, stage
    # Figures for docs/benchmarks.md ("Speech pipeline"), never assertions.
    print(f"\nfirst greeting audio {report.first_audio_delay_ms:.0f} ms after start (cold models)\n{metrics}")


def speech_onward(mulaw: bytes) -> bytes:
    """From the first 20 ms frame that carries speech (well above the line noise) to the end."""
    pcm = telephone_audio.mulaw_decode(mulaw).astype(np.int32)
    loud = np.flatnonzero(np.abs(pcm) > 1000)
    start = int(loud[0]) // 160 * 160 if len(loud) else 0
    return mulaw[start:]


async def test_a_caller_talking_over_the_answer_cuts_it_short_within_15_frames(
    start_agent: AgentFactory, start_gateway: GatewayFactory, piper: PiperTts, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/agentlocator.db"
    agent = start_agent(AGENT_PIPELINE="conversation", AGENT_GREETING=GREETING, AGENT_METRICS_INTERVAL_S="0")
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}", DATABASE_URL=database)
    question = telephone(piper, "What are your opening hours?")
    # Counting starts at the caller's speech: Piper's leading silence is not part of the interruption.
    interruption = speech_onward(telephone(piper, "Sorry, can I book an appointment instead?", seed=3))
    options = CallOptions(
        base_url=f"http://127.0.0.1:{gateway.port}",
        audio=line_noise(3.0) + question + line_noise(0.5),
        interrupt=interruption,  # spoken once 1.5 s of the (about 8 s) hours answer has played
        interrupt_after_ms=1500,
        tail_s=2.0,
    )

    report = await simulate_call(options)

    # Counted on the media clock: frames of the caller's interruption streamed before Twilio got `clear`.
    assert report.interrupt_frames_before_clear is not None
    assert report.interrupt_frames_before_clear < 15
    await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call={options.call_sid}")
    log = await CallLog.open(database)
    try:
        record = await log.get(options.call_sid)
    finally:
        await log.close()
    assert record is not None
    # The agent's history keeps only what the caller heard of the answer: its start, not its end.
    heard = [text for role, text in record.transcript if role == "agent" and text.startswith("We're open")]
    assert len(heard) == 1 and "saturday" not in heard[0].lower(), record.transcript
    # Figures for docs/benchmarks.md ("Speech pipeline"), never assertions.
    print(f"\nclear after {report.interrupt_frames_before_clear} frames of speech; heard: {heard[0]!r}")
