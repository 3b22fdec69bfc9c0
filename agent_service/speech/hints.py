"""What the ears should expect to hear on this business's line, taken from its knowledge file.

Whisper tiny.en hears "teeth whitening" as "deep wide turning" on a noisy 8 kHz line; the same audio
decoded with the business's own words in its prompt comes out right (docs/benchmarks.md, "Understanding
phone speech"). The composition root builds the hints once at start-up and the STT provider passes them
to every decode: faster-whisper's `hotwords` (a phrase list before the start-of-transcript token) or
`initial_prompt` (as if it were the previous sentence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_service.knowledge import Knowledge

# Whisper keeps at most 223 prompt tokens and cuts the rest; a long prompt also costs decode time and
# makes unrelated words likelier to be heard as the business's own. About 60 words is the budget.
MAX_PHRASES = 40
MAX_CHARS = 400

# A run of capitalised words (optionally after a title): staff, streets, towns, brands in free text.
_NAME = re.compile(r"\b(?:(?:Dr|Mr|Mrs|Ms|Miss)\.?\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def _split(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Capitalised only because they open a sentence or are the days and months Whisper already knows.
_NOT_NAMES = _split(
    """
    A An And Are Can Do Does Hello How I If In Is It Not Of On Or Our Please So The There They This We
    What When Where Which Who Why Yes No You Your Monday Tuesday Wednesday Thursday Friday Saturday
    Sunday
    """
)
_TOPIC_WORDS = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_PLAIN = _split(
    """
    about also been booked change could does from have help into just like make need their there these
    they this today what when where which will with would your take seen treat
    """
)


@dataclass(frozen=True, slots=True)
class SpeechHints:
    hotwords: str = ""  # faster-whisper `hotwords`: comma-separated phrases
    prompt: str = ""  # faster-whisper `initial_prompt`: the same phrases as a sentence

    @property
    def empty(self) -> bool:
        return not (self.hotwords or self.prompt)


def phrases(knowledge: Knowledge) -> list[str]:
    """The business's own words, most telling first, without repeats: its name, what it sells and does
    not, the names in its address and answers, the owner's extra vocabulary, then the FAQs' topic words."""
    found: list[str] = [knowledge.name, *(s.name for s in knowledge.services), *knowledge.not_offered]
    found.extend(knowledge.vocabulary)
    for text in (knowledge.address, *(faq.answer for faq in knowledge.faqs)):
        found.extend(name for name in _NAME.findall(text) if name not in _NOT_NAMES)
    for faq in knowledge.faqs:
        found.extend(w for w in _TOPIC_WORDS.findall(faq.question) if w.lower() not in _PLAIN)
    out: list[str] = []
    seen: set[str] = set()
    for phrase in found:
        key = phrase.lower()
        # "Sarah Patel" adds nothing once "Dr. Sarah Patel" is in; a word inside a phrase already in
        # ("Street" in "Harbour Street") likewise.
        if key in seen or any(key in s for s in seen):
            continue
        seen.add(key)
        out.append(phrase)
    return out[:MAX_PHRASES]


def hints_for(knowledge: Knowledge, mode: str) -> SpeechHints:
    """`mode`: "hotwords", "prompt", or "off"."""
    if mode == "off":
        return SpeechHints()
    words = ""
    for phrase in phrases(knowledge):
        candidate = f"{words}, {phrase}" if words else phrase
        if len(candidate) > MAX_CHARS:
            break
        words = candidate
    if mode == "hotwords":
        return SpeechHints(hotwords=words)
    if mode == "prompt":
        # Written as the sentence before the caller's: Whisper takes a prompt as earlier transcript.
        return SpeechHints(prompt=f"Calling {words}.")
    raise ValueError(f"unknown speech hints mode {mode!r}")
