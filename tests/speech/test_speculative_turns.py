"""Speculative transcription and the end-of-turn model in the conversation pipeline, with the real VAD,
Whisper and Piper; the media clock is the caller's frames, so waits are counted exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from agentlocator.agent.v1 import agent_pb2

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, load_knowledge
from agent_service.pipelines.conversation import ConversationConfig
from agent_service.speech.hints import hints_for
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.turns import TurnPolicy
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio
from agentlocator_common.telephone_audio import Pcm
from tests.speech.conftest import line_noise, telephone, words
from tests.speech.pipeline_harness import Caller, PlayoutOutlet, open_pipeline
from tests.speech.test_conversation_pipeline import greeted, user_transcripts

SPECULATIVE = ConversationConfig(
    greeting="Hello, how can I help?",
    no_input_ms=4000,
    turns=TurnPolicy(pause_ms=100, hangover_ms=500),
    speculative_stt=True,
)
WITH_MODEL = dataclasses.replace(
    SPECULATIVE,
    turns=dataclasses.replace(
        SPECULATIVE.turns, end_of_turn_model=True, complete_hangover_ms=200, incomplete_hangover_ms=2000
    ),
    end_of_turn="smart-turn",
)


@pytest.fixture(scope="module")
def whisper() -> WhisperStt:
    """As deployed: the knowledge's words in the prompt (without them tiny.en hears "I'd like to book
    … a check-up" as "I'd like to both." and drops the rest) and the 15 s window."""
    return WhisperStt(threads=2, window_s=15, hints=hints_for(load_knowledge(DEMO_KNOWLEDGE_FILE), "prompt"))


def spoken(piper: PiperTts, text: str) -> bytes:
    """`text` on the line with Piper's own leading and trailing silence cut to 60 ms, so a pause put
    between two pieces is the pause the caller makes."""
    wire = telephone(piper, text)
    loud = np.flatnonzero(np.abs(telephone_audio.mulaw_decode(wire).astype(np.int32)) > 1000)
    return wire[max(0, loud[0] - 480) : loud[-1] + 480]


class CountingStt:
    """The real Whisper, counting what it is asked to transcribe."""

    name = "counting"

    def __init__(self, whisper: WhisperStt) -> None:
        self.whisper = whisper
        self.heard: list[str] = []

    async def transcribe(self, pcm: Pcm, sample_rate: int) -> str:
        text = await self.whisper.transcribe(pcm, sample_rate)
        self.heard.append(text)
        return text


class ScriptedJudge:
    """Answers each pause with the next scripted probability; None raises, as a broken model would."""

    name = "scripted"

    def __init__(self, *answers: float | None) -> None:
        self.answers = list(answers)

    async def complete(self, pcm: Pcm, sample_rate: int) -> float:
        answer = self.answers.pop(0) if self.answers else 0.9
        if answer is None:
            raise RuntimeError("the model failed")
        return answer


def turn_metrics(outlet: PlayoutOutlet) -> list[agent_pb2.Metrics]:
    return [m.metrics for m in outlet.of("metrics") if m.metrics.turn_latency_ms]


async def converse(
    config: ConversationConfig,
    speech: bytes,
    piper: PiperTts,
    stt: CountingStt,
    silero: SileroVad,
    judge: ScriptedJudge | None = None,
) -> tuple[PlayoutOutlet, list[str]]:
    outlet = PlayoutOutlet()
    pipeline = open_pipeline(outlet, silero, stt, piper, config, judge=judge)
    caller = Caller(pipeline, outlet)
    try:
        await greeted(caller)
        await caller.stream(speech + line_noise(2.5))
        await outlet.until(lambda o: bool(turn_metrics(o)))
    finally:
        await pipeline.aclose()
    return outlet, [turn.text for turn in pipeline.history if turn.role == "user"]


async def test_a_question_is_answered_from_the_transcription_started_at_its_pause(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt = CountingStt(whisper)
    outlet, user = await converse(
        SPECULATIVE, telephone(piper, "How much is a check-up?"), piper, stt, silero
    )
    assert len(user) == 1 and "much" in words(user[0])
    assert stt.heard == [user[0]]  # transcribed once, at the pause, before the turn had ended
    metrics = turn_metrics(outlet)[0]
    assert metrics.speculative_stt == agent_pb2.SPECULATIVE_STT_HIT
    assert metrics.end_of_turn == agent_pb2.END_OF_TURN_SILENCE and metrics.endpointing_ms == 500


async def test_a_caller_who_goes_on_after_a_pause_is_answered_for_the_whole_sentence(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt = CountingStt(whisper)
    paused = spoken(piper, "I'd like to book") + line_noise(0.3) + spoken(piper, "a check-up please.")
    outlet, user = await converse(SPECULATIVE, paused, piper, stt, silero)
    assert len(user) == 1 and {"book", "check"} <= set(words(user[0]))
    assert len(stt.heard) >= 2 and "check" not in words(stt.heard[0])  # the guess, never answered
    assert turn_metrics(outlet)[0].speculative_stt in (
        agent_pb2.SPECULATIVE_STT_HIT,  # the second pause's guess
        agent_pb2.SPECULATIVE_STT_MISS,
    )
    assert user_transcripts(outlet) == user


async def test_a_pause_the_model_calls_finished_ends_the_turn_after_200_ms(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt, judge = CountingStt(whisper), ScriptedJudge(0.93)
    outlet, user = await converse(WITH_MODEL, telephone(piper, "Where are you?"), piper, stt, silero, judge)
    metrics = turn_metrics(outlet)[0]
    assert metrics.end_of_turn == agent_pb2.END_OF_TURN_COMPLETE and metrics.endpointing_ms == 200
    assert round(metrics.end_of_turn_probability, 2) == 0.93 and len(user) == 1


async def test_a_pause_the_model_calls_unfinished_is_waited_out_and_the_sentence_heard_whole(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt, judge = CountingStt(whisper), ScriptedJudge(0.1, 0.9)
    # 800 ms: the fixed 500 ms hangover would have ended the turn in the middle.
    paused = spoken(piper, "I'd like to book") + line_noise(0.8) + spoken(piper, "a check-up please.")
    outlet, user = await converse(WITH_MODEL, paused, piper, stt, silero, judge)
    assert len(user) == 1 and {"book", "check"} <= set(words(user[0]))
    assert turn_metrics(outlet)[0].end_of_turn == agent_pb2.END_OF_TURN_COMPLETE


async def test_a_failing_end_of_turn_model_leaves_turns_to_the_fixed_hangover(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt, judge = CountingStt(whisper), ScriptedJudge(None)
    outlet, user = await converse(WITH_MODEL, telephone(piper, "Where are you?"), piper, stt, silero, judge)
    metrics = turn_metrics(outlet)[0]
    assert metrics.end_of_turn == agent_pb2.END_OF_TURN_FALLBACK and metrics.endpointing_ms == 500
    assert len(user) == 1


async def test_a_caller_who_goes_on_as_the_answer_starts_takes_the_turn_back(
    piper: PiperTts, whisper: WhisperStt, silero: SileroVad
) -> None:
    stt = CountingStt(whisper)
    # 650 ms: the 500 ms hangover ends the turn inside the pause, and the answer has barely begun when
    # the caller goes on; what they said is heard again with the rest, as one turn.
    paused = spoken(piper, "I'd like to book") + line_noise(0.65) + spoken(piper, "a check-up please.")
    outlet, user = await converse(SPECULATIVE, paused, piper, stt, silero)
    assert len(outlet.clears_at_frame) == 1  # the answer to the half was stopped
    assert len(user) == 1 and {"book", "check"} <= set(words(user[0]))
    assert user_transcripts(outlet)[-1] == user[0]
