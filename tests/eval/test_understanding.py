"""The understanding set as text: what `bench/understanding.py` measures over the telephone line, here
without the audio so that `make test` catches a matcher that regresses. Figures: docs/benchmarks.md."""

from __future__ import annotations

import pytest

from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, load_knowledge
from tests.eval.scoring import Judge, Tally, tally
from tests.eval.understanding_set import DEFER, HELD_OUT, MISHEARD, QUESTIONS, SLIPS, Question


async def _tally(questions: tuple[Question, ...]) -> Tally:
    knowledge = load_knowledge(DEMO_KNOWLEDGE_FILE)
    return await tally(ReceptionistBrain(knowledge), Judge(knowledge), [(q, q, f) for q, f in questions])


def test_the_set_is_large_enough_and_asks_things_the_knowledge_cannot_answer() -> None:
    assert len(QUESTIONS) >= 60
    assert sum(facts == DEFER for _, facts in QUESTIONS) >= 15
    assert len({q for q, _ in (*QUESTIONS, *HELD_OUT)}) == len(QUESTIONS) + len(HELD_OUT)


async def test_casual_questions_are_answered_right_or_deferred_95_percent_of_the_time() -> None:
    result = await _tally(QUESTIONS)
    assert result.share >= 0.95, [(r.asked, r.outcome, r.said) for r in result.misses()]


@pytest.mark.parametrize(
    "questions", [QUESTIONS, HELD_OUT, SLIPS, MISHEARD], ids=["development", "held-out", "slips", "misheard"]
)
async def test_no_question_gets_a_wrong_or_invented_answer(questions: tuple[Question, ...]) -> None:
    # A miss may only ever be a deferral: the caller is offered a message or a transfer, never a guess.
    result = await _tally(questions)
    assert [(r.asked, r.outcome, r.said) for r in result.rows if r.outcome in ("wrong", "invented")] == []


async def test_every_question_outside_the_knowledge_is_deferred() -> None:
    result = await _tally(tuple(q for q in (*QUESTIONS, *HELD_OUT) if q[1] == DEFER))
    assert {r.outcome for r in result.rows} == {"rightly deferred"}


async def test_recognition_slips_of_the_business_words_still_get_the_answer() -> None:
    result = await _tally(SLIPS)
    assert [(r.heard, r.outcome) for r in result.rows if r.outcome != "right"] == []
