"""Cut a streamed reply into sentences, so each goes to TTS as soon as it is complete."""

from __future__ import annotations

import re

# A period after these is not the end of a sentence ("Dr. Patel", "St. Mary's", "e.g. this").
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "st", "prof", "mt", "no", "vs", "etc", "e.g", "i.e", "approx"}
)
# Punctuation counts only before whitespace, so "8.30" or "brightsmile.example/book" never split.
_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)")


class SentenceSplitter:
    """Feed deltas with `push`, get finished sentences back; `flush` returns what is left at the end."""

    def __init__(self) -> None:
        self._buffer = ""

    def push(self, delta: str) -> list[str]:
        self._buffer += delta
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.end()]
            if _ends_in_abbreviation(candidate):
                continue
            if candidate.strip():
                sentences.append(candidate.strip())
            start = match.end()
        self._buffer = self._buffer[start:]
        return sentences

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []


def _ends_in_abbreviation(text: str) -> bool:
    stripped = text.rstrip()
    if not stripped.endswith("."):
        return False
    words = stripped[:-1].split()
    return bool(words) and words[-1].lower().lstrip("(\"'") in _ABBREVIATIONS
