"""SessionStart.barge_in and .endpointing tune one call: the same caller audio interrupts the agent or
not, and a pause ends a turn or not, depending on what the call asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentlocator.agent.v1 import agent_pb2

from agent_service.pipelines.base import BargeInOverride, EndpointingOverride
from agent_service.pipelines.conversation.calls import turn_policy
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.turns import SpeechEnded, TurnPolicy, TurnTaker
from agentlocator_common import telephone_audio
from tests.agent_service.client import agent_stub, audio_in, hangup, read_to_end, read_until, start_call
from tests.speech.conftest import line_noise, telephone
from tests.speech.inprocess_agent import conversation_agent


async def talk_over_the_greeting(port: int, speech: bytes, **start: Any) -> list[str]:
    """The caller speaks while the greeting plays (its marks are never acknowledged, so it is still
    playing); return the kinds of everything the agent sent after the greeting's first audio."""
    async with agent_stub(port) as stub:
        call = await start_call(stub, "CA-talker", **start)
        await read_until(call, "audio_out")
        for seq, frame in enumerate(telephone_audio.frames(speech), start=1):
            await call.write(audio_in(frame, seq))
        await call.write(hangup())
        await call.done_writing()
        return [r.WhichOneof("event") for r in await read_to_end(call)]


async def test_a_call_that_turns_barge_in_off_is_not_interrupted_by_the_same_speech(
    tmp_path: Path, piper: PiperTts
) -> None:
    speech = line_noise(0.2) + telephone(piper, "What are your opening hours?") + line_noise(0.8)
    async with conversation_agent(tmp_path) as port:
        default = await talk_over_the_greeting(port, speech)
        no_barge_in = await talk_over_the_greeting(
            port, speech, barge_in=agent_pb2.BargeInPolicy(enabled=False)
        )
    assert "clear_playback" in default  # the server's policy: speech over the agent interrupts it
    assert "clear_playback" not in no_barge_in


def test_overrides_replace_only_the_values_a_call_sets() -> None:
    defaults = TurnPolicy(hangover_ms=500, min_speech_ms=100, barge_in_ms=180, max_utterance_ms=15000)
    policy = turn_policy(
        defaults,
        BargeInOverride(enabled=True, min_speech_ms=0, protected_ms=3000),
        EndpointingOverride(silence_ms=1200, min_utterance_ms=0, max_utterance_ms=30000),
    )
    assert (policy.barge_in, policy.barge_in_ms, policy.protected_ms) == (True, 180, 3000)
    assert (policy.hangover_ms, policy.min_speech_ms, policy.max_utterance_ms) == (1200, 100, 30000)
    assert turn_policy(defaults, None, None) == defaults


def test_a_longer_endpointing_silence_keeps_a_pause_inside_one_turn() -> None:
    # 600 ms of speech, a 700 ms pause, 600 ms more: two turns by default, one with silence_ms=1200.
    timeline = [0.9] * 30 + [0.0] * 35 + [0.9] * 30 + [0.0] * 80
    defaults = TurnPolicy(hangover_ms=500)
    for policy, turns in ((defaults, 2), (turn_policy(defaults, None, EndpointingOverride(1200)), 1)):
        taker = TurnTaker(policy)
        events = [e for i, p in enumerate(timeline) for e in taker.on_frame(i * 20, p, agent_speaking=False)]
        assert sum(isinstance(e, SpeechEnded) for e in events) == turns


def test_a_call_that_names_its_silence_gets_that_silence_and_no_end_of_turn_model() -> None:
    defaults = TurnPolicy(hangover_ms=500, pause_ms=100, end_of_turn_model=True)
    named = turn_policy(defaults, None, EndpointingOverride(silence_ms=900))
    assert (named.hangover_ms, named.end_of_turn_model, named.pause_ms) == (900, False, 100)
    assert turn_policy(defaults, None, EndpointingOverride(min_utterance_ms=200)).end_of_turn_model
