"""The concurrent-call cap (MAX_CONCURRENT_CALLS) and the calls that hold its lines.

A line is held from a stream's accepted `start` to the stream's end, by its CallSid: an accepted socket
that never sends `start` holds none (it is closed after WS_START_TIMEOUT_S), and a second stream for a
CallSid that already has one is refused, so one call's StreamToken opens one stream at a time.
`/incoming_call` asks `busy()` before it hands Twilio a `<Stream>`, so the caller past the cap hears the
busy message instead of a call the process cannot serve well.
"""

from __future__ import annotations

import enum
from typing import Protocol

from prometheus_client import Counter

CALLS_BUSY = Counter(
    "agentlocator_calls_busy", "Callers answered with the all-lines-busy TwiML (MAX_CONCURRENT_CALLS)"
)
# Calls admitted together by /incoming_call all start a second or so later, so a burst can overshoot the
# cap; past this many times the cap a `start` is refused outright, which bounds the set of live calls.
OVERSHOOT = 2


class Refusal(enum.StrEnum):
    DUPLICATE = "duplicate_stream"
    OVER_CAPACITY = "over_capacity"


class CallLines(Protocol):
    """Lines as the webhook and the stream endpoint take them: `CallCap` in this process (SQLite), or
    `cluster.lines.SharedLines`, which counts every gateway's calls in PostgreSQL."""

    max_calls: int
    # Set on SIGTERM: no new call is admitted, no new stream accepted (server/drain.py).
    draining: bool

    @property
    def open_streams(self) -> int:
        """The streams this gateway process carries."""
        ...

    async def admit(self, call_sid: str) -> bool:
        """Whether /incoming_call may hand this call a <Stream> (False: the busy message)."""
        ...

    async def take(self, call_sid: str, caller: str) -> Refusal | None:
        """A line for this call's started stream; None when granted, else why it was refused."""
        ...

    def release(self, call_sid: str) -> None:
        """Free the line at once here (a caller who saw the close finds it free on this gateway)."""
        ...


class CallCap:
    def __init__(self, max_calls: int) -> None:
        self.max_calls = max_calls  # 0: no cap (the listener's connection limits still bound the set)
        self._live: set[str] = set()
        self.draining = False

    @property
    def open_streams(self) -> int:
        return len(self._live)

    def busy(self) -> bool:
        return self.max_calls > 0 and len(self._live) >= self.max_calls

    def claim(self, call_sid: str) -> Refusal | None:
        """Take a line for this call's stream; None when granted, else why it was refused."""
        if call_sid in self._live:
            return Refusal.DUPLICATE
        if self.max_calls > 0 and len(self._live) >= OVERSHOOT * self.max_calls:
            return Refusal.OVER_CAPACITY
        self._live.add(call_sid)
        return None

    def release(self, call_sid: str) -> None:
        self._live.discard(call_sid)

    async def admit(self, call_sid: str) -> bool:
        return not self.draining and not self.busy()

    async def take(self, call_sid: str, caller: str) -> Refusal | None:
        return self.claim(call_sid)
