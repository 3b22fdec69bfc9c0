"""Bad input on a call: speech that gives no words, and silence. The agent asks once more, then offers a
message or a transfer; it never guesses and never hangs up on a caller who is still talking to it."""

from __future__ import annotations

from agent_service.brain.receptionist import OFFER
from agent_service.pipelines.conversation import ConversationConfig
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.turns import TurnPolicy
from agentlocator_common.telephone_audio import Pcm
from tests.speech.conftest import line_noise, telephone
from tests.speech.pipeline_harness import Caller, PlayoutOutlet, open_pipeline

CONFIG = ConversationConfig(greeting="Hello, how can I help?", no_input_ms=3000, turns=TurnPolicy())


class ScriptedEars:
    """Speech to text that hears what the test says it heard ("" for speech it could not make out)."""

    name = "scripted"

    def __init__(self, *heard: str) -> None:
        self._heard = list(heard)

    async def transcribe(self, pcm: Pcm, sample_rate: int) -> str:
        return self._heard.pop(0)


async def listen_out(caller: Caller, agent_lines: int) -> None:
    """Let the agent say `agent_lines` lines in all and play them; the line stays open meanwhile."""
    for _ in range(1000):  # bounded: 20 s of media time
        if len(caller.pipeline.history) >= agent_lines and not caller.outlet.queued_ms:
            break
        await caller.send_frame(line_noise(0.02, seed=caller.media_ms))


async def test_speech_without_words_is_asked_about_once_then_a_message_or_transfer_is_offered(
    piper: PiperTts, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, ScriptedEars("", "", "a message please"), piper, CONFIG)
    caller = Caller(pipeline, outlet)
    mumble = telephone(piper, "Mumble mumble mumble.") + line_noise(0.7)
    try:
        await listen_out(caller, 1)
        await caller.stream(mumble)
        await listen_out(caller, 2)
        await caller.stream(mumble)
        await listen_out(caller, 3)
        await caller.stream(mumble)
        await listen_out(caller, 5)
    finally:
        await pipeline.aclose()
    said = [(turn.role, turn.text) for turn in pipeline.history]
    assert said[:3] == [
        ("agent", CONFIG.greeting),
        ("agent", CONFIG.unclear_prompt),
        ("agent", CONFIG.unclear_offer),
    ]
    assert CONFIG.unclear_offer.endswith(OFFER)  # so "a message please" takes a message, as it does:
    assert said[3] == ("user", "a message please") and "name" in said[4][1]
    assert not outlet.of("end_call")


async def test_a_caller_who_spoke_since_the_last_silence_is_asked_again_not_hung_up_on(
    piper: PiperTts, silero: SileroVad
) -> None:
    outlet = PlayoutOutlet()
    ears = ScriptedEars("Do you treat children?", "Are you open on Saturday?")
    pipeline = open_pipeline(outlet, silero, ears, piper, CONFIG)
    caller = Caller(pipeline, outlet)
    question = telephone(piper, "Do you treat children?") + line_noise(0.7)
    try:
        for asked in range(2):  # silence, a question, silence, a question, silence
            await listen_out(caller, 2 + 3 * asked)
            await caller.stream(question)
            await listen_out(caller, 4 + 3 * asked)
        await listen_out(caller, 8)
    finally:
        await pipeline.aclose()
    agent_said = [turn.text for turn in pipeline.history if turn.role == "agent"]
    assert agent_said.count(CONFIG.no_input_prompt) == 3, agent_said
    assert CONFIG.no_input_goodbye not in agent_said and not outlet.of("end_call")
