"""The concurrent-call cap (MAX_CONCURRENT_CALLS): one counter of open Media Streams, one busy rule.

The endpoint counts a stream from its accepted upgrade to its end; `/incoming_call` asks `busy()` before
it hands Twilio a `<Stream>`, so the caller past the cap hears the busy message instead of a call the
process cannot serve well.
"""

from __future__ import annotations

from prometheus_client import Counter

CALLS_BUSY = Counter(
    "agentlocator_calls_busy", "Callers answered with the all-lines-busy TwiML (MAX_CONCURRENT_CALLS)"
)


class CallCap:
    def __init__(self, max_calls: int) -> None:
        self.max_calls = max_calls  # 0: no cap
        self.open_streams = 0

    def busy(self) -> bool:
        return self.max_calls > 0 and self.open_streams >= self.max_calls

    def opened(self) -> None:
        self.open_streams += 1

    def closed(self) -> None:
        self.open_streams -= 1
