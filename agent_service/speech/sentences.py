"""Cut a streamed reply into sentences, so each goes to TTS as soon as it is complete.

With `first_clause`, a long first sentence goes out as two pieces, cut at a comma: the caller waits for
the first piece's synthesis only, and Piper's time grows with the length of what it says (about 40 ms
for "Sure.", 220 ms for a 3 s sentence on one core; twice that while other calls' Whisper runs)."""

from __future__ import annotations

import re

# A period after these is not the end of a sentence ("Dr. Patel", "St. Mary's", "e.g. this").
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "st", "prof", "mt", "no", "vs", "etc", "e.g", "i.e", "approx"}
)
# Punctuation counts only before whitespace, so "8.30" or "brightsmile.example/book" never split.
_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)")
# The first sentence is cut at a comma only when it is this long, and each piece keeps this many words.
LONG_FIRST_WORDS, CLAUSE_WORDS = 12, 4


class SentenceSplitter:
    """Feed deltas with `push`, get finished sentences back; `flush` returns what is left at the end."""

    def __init__(self, *, first_clause: bool = False) -> None:
        self._buffer = ""
        self._first = first_clause  # the next sentence released is the reply's first

    def push(self, delta: str) -> list[str]:
        self._buffer += delta
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.end()]
            if _ends_in_abbreviation(candidate):
                continue
            if candidate.strip():
                sentences.extend(self._pieces(candidate.strip()))
            start = match.end()
        self._buffer = self._buffer[start:]
        return sentences

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return self._pieces(rest) if rest else []

    def _pieces(self, sentence: str) -> list[str]:
        first, self._first = self._first, False
        words = sentence.split()
        if not first or len(words) < LONG_FIRST_WORDS:
            return [sentence]
        for i in range(CLAUSE_WORDS - 1, len(words) - CLAUSE_WORDS):
            if words[i].endswith(","):
                return [" ".join(words[: i + 1]), " ".join(words[i + 1 :])]
        return [sentence]


def _ends_in_abbreviation(text: str) -> bool:
    stripped = text.rstrip()
    if not stripped.endswith("."):
        return False
    words = stripped[:-1].split()
    return bool(words) and words[-1].lower().lstrip("(\"'") in _ABBREVIATIONS
