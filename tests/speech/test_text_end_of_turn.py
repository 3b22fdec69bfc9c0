"""The text end-of-turn decision (AGENT_END_OF_TURN=text): the speculative transcript of the caller's
pause says whether the turn is over. With the real VAD, Whisper and Piper; the caller's media clock waits
for each end-of-turn question in flight, as a machine with time to spare would, so waits count exactly."""

from __future__ import annotations

import dataclasses

import pytest
from agentlocator.agent.v1 import agent_pb2
from prometheus_client import REGISTRY

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, load_knowledge
from agent_service.pipelines.conversation import ConversationConfig
from agent_service.speech.hints import hints_for
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.sentence_end import judge_words, sounds_finished
from agent_service.speech.silero import SileroVad
from agent_service.speech.turns import TurnPolicy
from agent_service.speech.whisper_stt import WhisperStt
from tests.speech.conftest import line_noise, telephone, words
from tests.speech.pipeline_harness import Caller, PlayoutOutlet, open_pipeline
from tests.speech.test_conversation_pipeline import greeted
from tests.speech.test_speculative_turns import CountingStt, spoken, turn_metrics

TEXT = ConversationConfig(
    greeting="Hello, how can I help?",
    no_input_ms=4000,
    turns=TurnPolicy(
        pause_ms=200,
        hangover_ms=800,
        end_of_turn_model=True,
        complete_hangover_ms=200,
        incomplete_hangover_ms=2000,
    ),
    speculative_stt=True,
    end_of_turn="text",
)


@pytest.fixture(scope="module")
def whisper() -> WhisperStt:
    return WhisperStt(threads=2, window_s=15, hints=hints_for(load_knowledge(DEMO_KNOWLEDGE_FILE), "prompt"))


@pytest.mark.parametrize(
    "text",
    [
        "What are your opening hours?",
        "How much is a check-up?",
        "Can you see her?",
        "Where are you?",
        "What are your hours like?",
        "Yes, I do.",
        "Thank you.",
        "I'd like to book a check-up for next week.",
    ],
)
def test_a_finished_sentence_sounds_finished(text: str) -> None:
    assert sounds_finished(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I'd like to book.",  # Whisper punctuates every cut
        "Can I speak to?",
        "My name is...",
        "I'm calling about the",
        "Could you tell me?",
        "What time do you?",
        "Is there?",
        "Is the clinic.",
        "I think I need.",
        "So, um",
        "I've got a problem with my,",
        "Do you have anything?",
    ],
)
def test_a_sentence_cut_where_more_must_come_sounds_unfinished(text: str) -> None:
    assert not sounds_finished(text)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Where exactly?", "unsure"),  # a fragment too short to judge: the fixed hangover decides
        ("Tuesday.", "unsure"),
        ("Yes, please.", "finished"),
        ("Thank you.", "finished"),
        ("Where are you?", "finished"),
        ("How long does a cleaning take?", "finished"),  # a wh-question strands its verb's object
        ("What time am I booked for?", "finished"),
        ("Who should I?", "unfinished"),
    ],
)
def test_a_fragment_of_two_words_is_left_to_the_fixed_hangover(text: str, verdict: str) -> None:
    assert judge_words(text) == verdict


class PacedCaller(Caller):
    async def send_frame(self, frame: bytes) -> None:
        await super().send_frame(frame)
        judging = self.pipeline.judging_task
        if judging is not None:
            await judging


def counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value("agentlocator_agent_speculative_stt_total", {"outcome": outcome})
    return value or 0.0


async def converse(
    config: ConversationConfig, speech: bytes, piper: PiperTts, stt: CountingStt, silero: SileroVad
) -> tuple[PlayoutOutlet, list[str]]:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, stt, piper, config)
    caller = PacedCaller(pipeline, outlet)
    try:
        await greeted(caller)
        await caller.stream(speech + line_noise(3.0))
        await outlet.until(lambda o: bool(turn_metrics(o)))
    finally:
        await pipeline.aclose()
    return outlet, [turn.text for turn in pipeline.history if turn.role == "user"]


async def test_a_finished_question_ends_its_turn_as_soon_as_its_transcript_reads_finished(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt, hits = CountingStt(whisper), counted("hit")
    outlet, user = await converse(TEXT, telephone(piper, "How much is a check-up?"), piper, stt, silero)
    assert len(user) == 1 and "much" in words(user[0])
    assert stt.heard == [user[0]]  # the pause's transcript was both the decision and the answer's text
    metrics = turn_metrics(outlet)[0]
    assert metrics.end_of_turn == agent_pb2.END_OF_TURN_COMPLETE and metrics.end_of_turn_probability == 1
    # Decided at the pause (200 ms), not after the fixed hangover (800 ms).
    assert 200 <= metrics.endpointing_ms < 300
    assert metrics.speculative_stt == agent_pb2.SPECULATIVE_STT_HIT and counted("hit") == hits + 1


async def test_a_mid_sentence_pause_is_waited_through_and_the_sentence_heard_whole(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt, dropped = CountingStt(whisper), counted("dropped")
    # 900 ms: longer than the 800 ms fixed hangover, which would have answered half a sentence.
    paused = spoken(piper, "I'm calling about") + line_noise(0.9) + spoken(piper, "my appointment.")
    outlet, user = await converse(TEXT, paused, piper, stt, silero)
    assert not outlet.clears_at_frame  # no answer was started inside the pause
    assert len(user) == 1 and {"calling", "appointment"} <= set(words(user[0]))
    assert "appointment" not in words(stt.heard[0])  # the pause's guess, judged unfinished, never answered
    assert counted("dropped") >= dropped + 1  # ...and dropped when the caller went on
    metrics = turn_metrics(outlet)[0]
    assert metrics.end_of_turn == agent_pb2.END_OF_TURN_COMPLETE
    assert metrics.speculative_stt == agent_pb2.SPECULATIVE_STT_HIT


async def test_without_speculation_the_text_decision_falls_back_to_the_fixed_hangover(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt, misses = CountingStt(whisper), counted("miss")
    config = dataclasses.replace(TEXT, speculative_stt=False)
    outlet, user = await converse(config, telephone(piper, "Where are you?"), piper, stt, silero)
    metrics = turn_metrics(outlet)[0]
    assert metrics.end_of_turn == agent_pb2.END_OF_TURN_FALLBACK and metrics.endpointing_ms == 800
    assert metrics.speculative_stt == agent_pb2.SPECULATIVE_STT_OFF and len(user) == 1
    assert counted("miss") == misses  # off is neither a hit nor a miss


async def test_a_turn_that_ends_before_any_guess_is_counted_a_miss_and_transcribed_once(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt, misses = CountingStt(whisper), counted("miss")
    # The fixed 500 ms hangover ends the turn before the 1 s pause would have started a guess.
    turns = dataclasses.replace(TEXT.turns, end_of_turn_model=False, hangover_ms=500, pause_ms=1000)
    config = dataclasses.replace(TEXT, turns=turns, end_of_turn="silence")
    outlet, user = await converse(config, telephone(piper, "Where are you?"), piper, stt, silero)
    metrics = turn_metrics(outlet)[0]
    assert metrics.speculative_stt == agent_pb2.SPECULATIVE_STT_MISS and counted("miss") == misses + 1
    assert metrics.end_of_turn == agent_pb2.END_OF_TURN_SILENCE and stt.heard == user
