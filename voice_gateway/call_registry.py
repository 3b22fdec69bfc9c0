"""The calls this gateway process is carrying, what was said in them, and the ones whose agent failed.

Calls, final transcripts and per-turn latencies are also written to the data layer (`CallLog`) when one
is attached; a failed write is logged and counted but never ends or delays a call beyond the write itself.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from voice_gateway import metrics
from voice_gateway.storage.calls import CallLog, TurnLatency

log = logging.getLogger("voice_gateway.calls")


@dataclass(slots=True)
class LiveCall:
    call_sid: str
    stream_sid: str
    caller: str
    started_at: float = field(default_factory=time.time)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    outcome: str = ""
    # Ends the call from outside (the console's hang-up button); set by the call's bridge.
    hang_up: Callable[[], Awaitable[None]] | None = None


class CallRegistry:
    def __init__(self, call_log: CallLog | None = None, remember_failures: int = 10_000) -> None:
        self.live: dict[str, LiveCall] = {}
        self.call_log = call_log
        self._failures: OrderedDict[str, str] = OrderedDict()
        self._remember = remember_failures

    async def started(
        self,
        call_sid: str,
        stream_sid: str,
        caller: str,
        hang_up: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.live[call_sid] = LiveCall(call_sid, stream_sid, caller, hang_up=hang_up)
        if self.call_log is not None:
            await self._write("start", self.call_log.started(call_sid, stream_sid, caller))

    async def transcript(self, call_sid: str, role: str, text: str, is_final: bool) -> None:
        call = self.live.get(call_sid)
        if call is None or not is_final:
            return
        call.transcript.append((role, text))
        if self.call_log is not None:
            await self._write("transcript", self.call_log.said(call_sid, role, text))

    async def turn_latency(self, call_sid: str, stages: TurnLatency) -> None:
        if call_sid in self.live and self.call_log is not None:
            await self._write("turn", self.call_log.turn(call_sid, stages))

    async def hang_up(self, call_sid: str) -> bool:
        """End a live call on the operator's request; False when no such call is live here."""
        call = self.live.get(call_sid)
        if call is None or call.hang_up is None:
            return False
        await call.hang_up()
        return True

    def ended(self, call_sid: str, reason: str) -> None:
        if call_sid in self.live:
            self.live[call_sid].outcome = reason

    def failed(self, call_sid: str, reason: str) -> None:
        self.ended(call_sid, f"failed: {reason}")
        self._failures[call_sid] = reason
        while len(self._failures) > self._remember:
            self._failures.popitem(last=False)

    def take_failure(self, call_sid: str) -> str | None:
        """The reason this call's agent failed, once: the `<Connect action>` asks exactly once."""
        return self._failures.pop(call_sid, None)

    async def closed(self, call_sid: str, default_outcome: str) -> None:
        call = self.live.pop(call_sid, None)
        if call is not None and self.call_log is not None:
            await self._write("end", self.call_log.ended(call_sid, call.outcome or default_outcome))

    async def _write(self, what: str, write: Awaitable[None]) -> None:
        try:
            await write
        except Exception as exc:  # the call matters more than its record: log, count, carry on
            metrics.CALL_LOG_FAILURES.labels(what).inc()
            log.error("CALL_LOG_FAILED what=%s error=%r", what, exc)
