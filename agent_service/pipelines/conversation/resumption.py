"""Call histories kept across a lost Converse stream, so a resumed call (SessionStart.resumed) carries on.

Keyed by call sid. A call's history is held while its stream is open, and for `keep_s` after the stream
ends; at most `max_ended` ended calls are kept, the longest-ended going first. So a gateway that resumes
within its reconnect timeout finds the conversation, and memory stays bounded whatever callers do. Only
the same process can resume a history: another agent instance starts the call afresh. All use is on the
event loop, so there is nothing to lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from agent_service.speech.history import CallHistory

# The gateway reopens a lost stream once, within AGENT_RECONNECT_TIMEOUT_S (5 s by default); a minute
# covers a slow restart of the gateway's own retry without keeping finished calls around for long.
KEEP_S = 60.0


@dataclass(slots=True)
class _Held:
    history: CallHistory
    ended_at: float | None = None  # None while the call's stream is open


class CallHistories:
    def __init__(
        self, *, max_ended: int, keep_s: float = KEEP_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_ended = max_ended
        self._keep_s = keep_s
        self._clock = clock
        self._held: OrderedDict[str, _Held] = OrderedDict()

    def open(self, call_sid: str, *, resumed: bool) -> CallHistory:
        """The history a new stream of `call_sid` starts from: the call's so far when resumed, else empty."""
        self._forget_old()
        held = self._held.pop(call_sid, None)
        history = CallHistory(held.history if resumed and held is not None else ())
        self._held[call_sid] = _Held(history)
        return history

    def close(self, call_sid: str, history: CallHistory) -> None:
        """The stream that owns `history` ended: keep it for a resume, for a while."""
        held = self._held.get(call_sid)
        if held is None or held.history is not history:
            return  # a newer stream of the call took over; its history is the one to keep
        held.ended_at = self._clock()
        self._held.move_to_end(call_sid)  # ended calls stay in the order they ended
        self._forget_old()

    def __contains__(self, call_sid: object) -> bool:
        return call_sid in self._held

    def __len__(self) -> int:
        return len(self._held)

    def _forget_old(self) -> None:
        now = self._clock()
        ended = [(sid, held.ended_at) for sid, held in self._held.items() if held.ended_at is not None]
        recent = [sid for sid, ended_at in ended if now - ended_at < self._keep_s]
        kept = set(recent[max(0, len(recent) - self._max_ended) :])
        for sid, _ in ended:
            if sid not in kept:
                del self._held[sid]
