"""The agent's outbound audio, held by the gateway and released to Twilio just ahead of playback.

Twilio buffers whatever we send and can only flush all of it (`clear`). Keeping the queue here and
sending at most `lead_ms` ahead of Twilio's playout clock means an interruption takes effect at once
and costs at most `lead_ms` of audio. Sans-IO: the caller passes the time in and sends what comes out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from agentlocator_common.telephone_audio import FRAME_BYTES

# One µ-law byte at 8 kHz lasts 125 µs; whole microseconds keep the playout clock exact.
_US_PER_BYTE = 125


@dataclass(frozen=True, slots=True)
class AudioFrame:
    audio: bytes
    utterance_id: str


@dataclass(frozen=True, slots=True)
class MarkItem:
    mark_id: str
    utterance_id: str


QueueItem = AudioFrame | MarkItem


class PlaybackQueue:
    def __init__(self, lead_ms: int = 200) -> None:
        self.lead_ms = lead_ms
        self._queue: deque[QueueItem] = deque()
        self._partial: dict[str, bytearray] = {}
        self._utterance_order: list[str] = []
        self._buffer_ends_us = 0  # when Twilio will have played everything sent so far
        self._marks_at_twilio: list[str] = []  # sent to Twilio, echo not yet received
        self._cleared_at_twilio: set[str] = set()  # flushed by a clear: their echo means CLEARED
        self.frames_sent = 0

    # -- filling ------------------------------------------------------------------------------------

    def add_audio(self, utterance_id: str, audio: bytes, final: bool) -> None:
        """Queue agent audio, cut into 20 ms frames; a short tail waits for more unless `final`."""
        if utterance_id not in self._utterance_order:
            self._utterance_order.append(utterance_id)
        pending = self._partial.setdefault(utterance_id, bytearray())
        pending.extend(audio)
        whole = len(pending) - len(pending) % FRAME_BYTES
        for start in range(0, whole, FRAME_BYTES):
            self._queue.append(AudioFrame(bytes(pending[start : start + FRAME_BYTES]), utterance_id))
        del pending[:whole]
        if final:
            self._flush_partial(utterance_id)

    def add_mark(self, mark_id: str, utterance_id: str) -> None:
        # A mark closes its utterance: whatever audio is left over plays before it.
        self._flush_partial(utterance_id)
        self._queue.append(MarkItem(mark_id, utterance_id))

    def _flush_partial(self, utterance_id: str) -> None:
        pending = self._partial.pop(utterance_id, None)
        if pending:
            self._queue.append(AudioFrame(bytes(pending), utterance_id))

    # -- draining -----------------------------------------------------------------------------------

    def ahead_ms(self, now: float) -> float:
        return max(0, self._buffer_ends_us - _us(now)) / 1000

    def due(self, now: float) -> list[QueueItem]:
        """Items to send now: audio while Twilio holds less than `lead_ms`, and every mark reached."""
        out: list[QueueItem] = []
        while self._queue:
            head = self._queue[0]
            if isinstance(head, AudioFrame):
                if self.ahead_ms(now) >= self.lead_ms:
                    break
                self._buffer_ends_us = max(_us(now), self._buffer_ends_us) + len(head.audio) * _US_PER_BYTE
                self.frames_sent += 1
            else:
                self._marks_at_twilio.append(head.mark_id)
            out.append(self._queue.popleft())
        return out

    def wait_s(self, now: float) -> float | None:
        """How long until `due` can release something; None when the queue is empty."""
        if not self._queue:
            return None
        return max(0.0, (self.ahead_ms(now) - self.lead_ms) / 1000)

    @property
    def idle(self) -> bool:
        return not self._queue and not self._partial and not self._marks_at_twilio

    # -- interruption and echoes ------------------------------------------------------------------

    def clear(self, now: float, up_to_utterance_id: str = "") -> tuple[bool, list[str]]:
        """Drop queued audio of the named utterance and all before it (empty: everything).

        Returns whether Twilio must be sent `clear`, and the ids of queued marks that will never reach
        Twilio (they count as CLEARED at once). Marks already at Twilio come back CLEARED via `echo`.
        """
        doomed = self._utterances_through(up_to_utterance_id)
        never_sent = [i.mark_id for i in self._queue if isinstance(i, MarkItem) and i.utterance_id in doomed]
        self._queue = deque(i for i in self._queue if i.utterance_id not in doomed)
        for utterance_id in doomed:
            self._partial.pop(utterance_id, None)
        self._utterance_order = [u for u in self._utterance_order if u not in doomed]
        twilio_busy = self.ahead_ms(now) > 0 or bool(self._marks_at_twilio)
        self._cleared_at_twilio.update(self._marks_at_twilio)
        self._buffer_ends_us = _us(now)
        return twilio_busy, never_sent

    def _utterances_through(self, utterance_id: str) -> set[str]:
        if not utterance_id or utterance_id not in self._utterance_order:
            return set(self._utterance_order) | set(self._partial)
        return set(self._utterance_order[: self._utterance_order.index(utterance_id) + 1])

    def echo(self, mark_id: str) -> bool:
        """Twilio echoed a mark; True when it was played, False when a clear flushed it."""
        if mark_id in self._marks_at_twilio:
            self._marks_at_twilio.remove(mark_id)
        if mark_id in self._cleared_at_twilio:
            self._cleared_at_twilio.discard(mark_id)
            return False
        return True


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)
