"""Twilio's playout buffer for one call, on a clock we advance: what the caller hears, and when marks echo.

Twilio plays outbound media in the order received, echoes a mark once the audio before it has played
(at once if nothing is buffered), and on `clear` drops the buffer and echoes every pending mark.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from agentlocator_common.telephone_audio import MULAW_SILENCE
from voice_gateway.twilio.media_streams.events import MULAW_BYTES_PER_MS


@dataclass(slots=True)
class PlayoutResult:
    """What happened while the clock moved: marks to echo, in order."""

    marks: list[str] = field(default_factory=list)


class Playout:
    def __init__(self) -> None:
        self._queue: deque[bytes | str] = deque()
        self._head_offset = 0
        self.heard = bytearray()  # the caller's ear: played audio, silence while the buffer is empty
        self.played = bytearray()  # played audio only
        self.cleared_bytes = 0
        self.marks_played: list[str] = []
        self.marks_cleared: list[str] = []

    @property
    def buffered_bytes(self) -> int:
        return sum(len(item) for item in self._queue if isinstance(item, bytes)) - self._head_offset

    def push_media(self, payload: bytes) -> None:
        self._queue.append(payload)

    def push_mark(self, name: str) -> PlayoutResult:
        self._queue.append(name)
        return self._echo_reached_marks()

    def clear(self) -> PlayoutResult:
        result = PlayoutResult()
        for item in self._queue:
            if isinstance(item, str):
                result.marks.append(item)
                self.marks_cleared.append(item)
            else:
                self.cleared_bytes += len(item)
        self.cleared_bytes -= self._head_offset
        self._queue.clear()
        self._head_offset = 0
        return result

    def advance(self, ms: int) -> PlayoutResult:
        """Play `ms` of audio (silence when the buffer runs dry) and echo the marks reached."""
        budget = ms * MULAW_BYTES_PER_MS
        result = PlayoutResult()
        while budget > 0:
            result.marks.extend(self._echo_reached_marks().marks)
            if not self._queue:
                self.heard.extend(bytes([MULAW_SILENCE]) * budget)
                break
            head = self._queue[0]
            assert isinstance(head, bytes)
            chunk = head[self._head_offset : self._head_offset + budget]
            self.heard.extend(chunk)
            self.played.extend(chunk)
            budget -= len(chunk)
            self._head_offset += len(chunk)
            if self._head_offset >= len(head):
                self._queue.popleft()
                self._head_offset = 0
        result.marks.extend(self._echo_reached_marks().marks)
        return result

    def drain(self) -> PlayoutResult:
        """Play everything buffered (the call's tail), then echo the remaining marks."""
        ms = -(-self.buffered_bytes // MULAW_BYTES_PER_MS)
        return self.advance(ms) if ms else self._echo_reached_marks()

    def _echo_reached_marks(self) -> PlayoutResult:
        result = PlayoutResult()
        while self._queue and isinstance(self._queue[0], str):
            name = self._queue.popleft()
            assert isinstance(name, str)
            result.marks.append(name)
            self.marks_played.append(name)
        return result
