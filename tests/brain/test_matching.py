"""The receptionist's matcher: spoken forms, fillers and misheard business words, and what it refuses."""

from __future__ import annotations

import pytest

from agent_service.brain import Conversation, Turn
from agent_service.brain.matching import KnowledgeMatcher, skeleton
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.knowledge import Knowledge


def _topic(brain: ReceptionistBrain, text: str) -> str:
    return brain.assess(Conversation("c", (Turn("user", text),))).topic


def test_a_misheard_phrase_sounds_like_the_service_it_was() -> None:
    assert skeleton("teeth whitening") == "twtnk"
    assert skeleton("deep wide turning") == "tpwtrnk"


@pytest.mark.parametrize(
    ("heard", "topic"),
    [
        ("Ooh, you treat children.", "faq:5"),  # the filler used to sink the confidence
        ("How much is deep wide turning?", "price:teeth whitening"),
        ("how much is teeth whitning", "price:teeth whitening"),
        ("um, like, d'you do kids' check-ups?", "faq:5"),
        ("what's your postcode for the sat nav?", "address"),
        ("I would like to book a cleaning for next Tuesday afternoon", "faq:7"),
    ],
)
def test_phone_speech_finds_the_knowledge(knowledge: Knowledge, heard: str, topic: str) -> None:
    # Each of these was deferred ("I don't have that information") before the matcher.
    assert _topic(ReceptionistBrain(knowledge), heard) == topic


@pytest.mark.parametrize(
    "heard",
    [
        "how much are dentures?",  # "dentures" is two sounds from "dentists": not close enough
        "is Doctor Jones in today?",  # an unknown name is not corrected into a known one
        "how much is a root canal?",
        "what's your email address?",
        "floor, the dentist at the practice.",  # "practice" sounds like "Brighton" but is not spelled so
    ],
)
def test_a_question_about_something_the_knowledge_lacks_is_not_bent_into_one_it_has(
    knowledge: Knowledge, heard: str
) -> None:
    assert _topic(ReceptionistBrain(knowledge), heard) == "unknown"


def test_only_words_the_knowledge_does_not_know_are_corrected() -> None:
    matcher = KnowledgeMatcher(["teeth whitening price", "opening hours"], ["teeth whitening"])
    assert matcher.clean("How much is deep wide turning?") == "how much is teeth whitening"
    assert matcher.clean("is it open in the morning") == "is it open in the morning"
