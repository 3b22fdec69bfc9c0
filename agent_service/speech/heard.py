"""What the caller actually heard of the agent's reply: from PLAYED marks and the playback clock.

A CLEARED mark means the audio was flushed unheard (Twilio echoes pending marks on `clear`), so it never
counts as heard. The sentence that was playing when the caller barged in is cut in proportion to the time
it had been playing, at a word boundary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Segment:
    mark_id: str
    text: str
    duration_ms: int
    sent_at_ms: int
    played_at_ms: int | None = None


class HeardTracker:
    def __init__(self) -> None:
        self._segments: list[_Segment] = []

    def sent(self, mark_id: str, text: str, duration_ms: int, at_ms: int) -> None:
        self._segments.append(_Segment(mark_id, text, duration_ms, at_ms))

    def played(self, mark_id: str, at_ms: int) -> bool:
        for segment in self._segments:
            if segment.mark_id == mark_id:
                segment.played_at_ms = at_ms
                return True
        return False

    @property
    def all_played(self) -> bool:
        return all(s.played_at_ms is not None for s in self._segments)

    @property
    def full_text(self) -> str:
        return " ".join(s.text for s in self._segments)

    def heard_text(self, at_ms: int) -> str:
        """The reply as heard up to media time `at_ms`."""
        parts: list[str] = []
        previous_end: int | None = None
        for segment in self._segments:
            if segment.played_at_ms is not None and segment.played_at_ms <= at_ms:
                parts.append(segment.text)
                previous_end = segment.played_at_ms
                continue
            # The first unplayed segment started playing when the previous one ended, or when it was sent
            # (the gateway releases audio at most PLAYBACK_LEAD_MS ahead, so sending ≈ starting to play).
            started = (
                max(segment.sent_at_ms, previous_end) if previous_end is not None else segment.sent_at_ms
            )
            fraction = (at_ms - started) / segment.duration_ms if segment.duration_ms > 0 else 0.0
            partial = truncate_words(segment.text, fraction)
            if partial:
                parts.append(partial + "…")
            break
        return " ".join(parts)


def truncate_words(text: str, fraction: float) -> str:
    """The words whose end falls within the first `fraction` of the text (speech time ≈ characters)."""
    if fraction <= 0:
        return ""
    if fraction >= 1:
        return text
    limit = len(text) * fraction
    kept: list[str] = []
    position = 0
    for word in text.split():
        position = text.index(word, position) + len(word)
        if position > limit:
            break
        kept.append(word)
    return " ".join(kept)
