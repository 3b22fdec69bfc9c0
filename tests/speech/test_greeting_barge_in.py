"""Speech that interrupts the greeting is transcribed and answered like any other turn.

A caller who starts talking while the greeting plays (or before its first word went out) cuts it short,
and what they said is answered. Through the gateway that needs the line to keep streaming after they
stop, as Twilio's does: the agent's turn-taking runs on the media clock, so a simulator that fell silent
after its WAV left the question waiting for a hangover that never came (silence until hang-up).
"""

from __future__ import annotations

import pytest

from agent_service.pipelines.conversation import ConversationConfig
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.turns import TurnPolicy
from agent_service.speech.whisper_stt import WhisperStt
from tests.conftest import AgentFactory, GatewayFactory
from tests.speech.conftest import line_noise, telephone, words
from tests.speech.pipeline_harness import Caller, PlayoutOutlet, open_pipeline
from voice_gateway.tools.simulate import CallOptions, simulate_call

GREETING = "Hello, thank you for calling Bright Smile Dental Clinic. How can I help you today?"
CHILDREN = "Yes, we see children of all ages"


@pytest.mark.parametrize("onset_s", [0.0, 0.5, 1.5, 3.0])
async def test_a_question_over_the_greeting_is_heard_and_answered(
    onset_s: float, piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    config = ConversationConfig(greeting=GREETING, no_input_ms=8000, turns=TurnPolicy())
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, whisper, piper, config)
    caller = Caller(pipeline, outlet)
    try:
        await outlet.until(lambda o: bool(o.of("audio_out")))  # the greeting is on its way
        await caller.stream(line_noise(onset_s) + telephone(piper, "Do you treat children?"))
        for _ in range(250):  # the line goes on; bounded: 5 s of media time
            if any(turn.text.startswith(CHILDREN) for turn in pipeline.history):
                break
            await caller.send_frame(line_noise(0.02, seed=caller.media_ms))
    finally:
        await pipeline.aclose()
    assert len(outlet.clears_at_frame) == 1  # the greeting was cut short
    # The greeting keeps only what was heard of it (nothing, when the caller spoke at once).
    turns = [(turn.role, turn.text) for turn in pipeline.history if turn.text]
    assert [role for role, _ in turns[-2:]] == ["user", "agent"], turns
    assert "children" in words(turns[-2][1])
    assert turns[-1][1].startswith(CHILDREN)
    assert not outlet.of("end_call")


@pytest.mark.integration
async def test_through_the_gateway_a_question_over_the_greeting_is_answered_after_the_wav_ends(
    start_agent: AgentFactory, start_gateway: GatewayFactory, piper: PiperTts
) -> None:
    agent = start_agent(AGENT_PIPELINE="conversation", AGENT_METRICS_INTERVAL_S="0")
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}")
    # 1.5 s into the greeting, and the WAV ends right after the question, as a recorded WAV does.
    options = CallOptions(
        base_url=f"http://127.0.0.1:{gateway.port}",
        audio=line_noise(1.5) + telephone(piper, "Do you treat children?"),
        keep_streaming=True,
        tail_s=3.0,
    )
    report = await simulate_call(options)
    assert report.clears_received == 1
    heard = [line for line in report.conversation if line.startswith("agent heard: ")]
    assert len(heard) == 1 and "children" in words(heard[0]), report.conversation
    # A long first sentence is said in two pieces, cut at its comma (sentences.py: sooner heard).
    said = [f"agent said: {CHILDREN},", "agent said: and check-ups are free for under-16s."]
    assert all(line in report.conversation for line in said), report.conversation
    assert report.conversation[-1] == "call ended: caller hung up"
    agent.wait_for("SPEECH_BARGE_IN")
