"""End to end: the simulator calls the gateway in AI mode, the agent runs the `conversation` pipeline
with the embedded models; the caller asks about the demo business and Whisper checks what it heard."""

from __future__ import annotations

import re

import httpx
import pytest

from agent_service.speech import audio
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.whisper_stt import WhisperStt
from tests.conftest import AgentFactory, GatewayFactory
from tests.speech.conftest import line_noise, telephone, words
from voice_gateway.simulate import CallOptions, simulate_call

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
    asked_at = 3 * audio.TELEPHONE_RATE  # the heard audio runs on the same 8 kHz media clock
    greeting_heard = await whisper.transcribe(audio.mulaw_decode(report.heard[:asked_at]), 8000)
    answer_heard = await whisper.transcribe(audio.mulaw_decode(report.heard[asked_at:]), 8000)
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
