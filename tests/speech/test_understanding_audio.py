"""A handful of the understanding set over the real telephone path: Piper → 8 kHz µ-law with line noise
→ the agent's VAD and turn-taking → Whisper with the knowledge file's words → the receptionist.
The whole set, with and without hints, is bench/understanding.py (docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, Knowledge, load_knowledge
from agent_service.settings import AgentSettings
from agent_service.speech.hints import hints_for
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.whisper_stt import WhisperStt
from bench.understanding import caller_line, hear, utterances
from tests.eval.scoring import Judge, tally
from tests.eval.understanding_set import DEFER

# Without the hints Whisper tiny.en heard these as "widening", "pay by car", "do you do an HS".
SPOKEN = (
    ("what do you charge for whitening?", ("350 pounds",)),
    ("can I pay by card?", ("card or cash",)),
    ("do you do NHS?", ("new NHS and private patients",)),
    ("Do you treat children?", ("children of all ages",)),
    ("how much is a root canal?", DEFER),
)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(DEMO_KNOWLEDGE_FILE)


@pytest.fixture(scope="module")
def hinted_whisper(knowledge: Knowledge) -> WhisperStt:
    return WhisperStt(threads=2, hints=hints_for(knowledge, AgentSettings().stt_hints))


async def test_spoken_questions_over_a_noisy_line_are_answered_or_deferred_never_guessed(
    piper: PiperTts, silero: SileroVad, hinted_whisper: WhisperStt, knowledge: Knowledge
) -> None:
    heard = []
    for seed, (question, _) in enumerate(SPOKEN):
        segments = utterances(silero, caller_line(piper, question, seed))
        assert len(segments) == 1, question  # one question, one turn
        heard.append(hear(hinted_whisper, segments)[0])
    items = [(q, h, facts) for (q, facts), h in zip(SPOKEN, heard, strict=True)]
    result = await tally(ReceptionistBrain(knowledge), Judge(knowledge), items)
    assert [(r.asked, r.heard, r.outcome) for r in result.misses()] == []
