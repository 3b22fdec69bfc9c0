"""The calls this gateway process is carrying, and the ones whose agent failed (so TwiML can apologise)."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class LiveCall:
    call_sid: str
    stream_sid: str
    caller: str
    started_at: float = field(default_factory=time.time)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    outcome: str = ""


class CallRegistry:
    def __init__(self, remember_failures: int = 10_000) -> None:
        self.live: dict[str, LiveCall] = {}
        self._failures: OrderedDict[str, str] = OrderedDict()
        self._remember = remember_failures

    def started(self, call_sid: str, stream_sid: str, caller: str) -> None:
        self.live[call_sid] = LiveCall(call_sid, stream_sid, caller)

    def transcript(self, call_sid: str, role: str, text: str, is_final: bool) -> None:
        call = self.live.get(call_sid)
        if call is not None and is_final:
            call.transcript.append((role, text))

    def ended(self, call_sid: str, reason: str) -> None:
        if call_sid in self.live:
            self.live[call_sid].outcome = reason

    def failed(self, call_sid: str, reason: str) -> None:
        self._failures[call_sid] = reason
        while len(self._failures) > self._remember:
            self._failures.popitem(last=False)

    def take_failure(self, call_sid: str) -> str | None:
        """The reason this call's agent failed, once: the `<Connect action>` asks exactly once."""
        return self._failures.pop(call_sid, None)

    def closed(self, call_sid: str) -> None:
        self.live.pop(call_sid, None)
