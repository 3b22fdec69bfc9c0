"""The calls this gateway process is carrying, what was said in them, and the ones whose agent failed.

Calls, final transcripts and per-turn latencies are also written to the data layer (`CallLog`) when one
is attached. The writes of one call run in the background, one after another in the order they were asked
for (a transcript row never precedes its call's row), so a slow database never delays a call's audio:
with SQLite, a burst of calls starting together used to hold each call's agent stream behind every
earlier call's commit. A failed write is logged and counted; `closed` waits for the call's writes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from voice_gateway import metrics
from voice_gateway.calls.feed import LiveFeeds
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
    channel: str = "phone"  # or "browser" (the console's "Talk to your agent")
    # The call's latest database write; each new one starts after it.
    last_write: asyncio.Future[None] | None = None


class OtherGateways(Protocol):
    """The calls other gateways carry (cluster/state.py), when several share one PostgreSQL."""

    async def hang_up(self, call_sid: str) -> bool: ...

    async def live_calls(self) -> list[dict[str, Any]]: ...

    async def transcript_of(self, call_sid: str) -> list[tuple[str, str]] | None: ...

    async def news(self) -> None: ...

    def announce(self, call_sid: str, kind: str, detail: str) -> None:
        """Tell every gateway (this one too) how a call ended, for its <Connect action> (`remember`)."""
        ...


class CallRegistry:
    def __init__(self, call_log: CallLog | None = None, remember_failures: int = 10_000) -> None:
        self.live: dict[str, LiveCall] = {}
        self.call_log = call_log
        self.others: OtherGateways | None = None
        self._failures: OrderedDict[str, str] = OrderedDict()
        # Calls ended by this gateway's drain: their <Connect action> says goodbye (server/drain.py).
        self._drained: OrderedDict[str, None] = OrderedDict()
        self._remember = remember_failures
        self.feeds = LiveFeeds()  # each call's conversation as it happens, for one listener

    def started(
        self,
        call_sid: str,
        stream_sid: str,
        caller: str,
        hang_up: Callable[[], Awaitable[None]] | None = None,
        channel: str = "phone",
    ) -> None:
        call = LiveCall(call_sid, stream_sid, caller, hang_up=hang_up, channel=channel)
        self.live[call_sid] = call
        if self.call_log is not None:
            start = functools.partial(self.call_log.started, call_sid, stream_sid, caller, channel)
            self._record(call, "start", start)
        self.feeds.publish(call_sid, "started", {})

    def transcript(self, call_sid: str, role: str, text: str, is_final: bool) -> None:
        call = self.live.get(call_sid)
        if call is None:
            return
        self.feeds.transcript(call_sid, role, text, is_final)
        if not is_final:
            return
        call.transcript.append((role, text))
        if self.call_log is not None:
            self._record(call, "transcript", functools.partial(self.call_log.said, call_sid, role, text))

    def turn_latency(self, call_sid: str, stages: TurnLatency) -> None:
        call = self.live.get(call_sid)
        if call is not None:
            self.feeds.publish(call_sid, "turn", dict(stages))
        if call is not None and self.call_log is not None:
            self._record(call, "turn", functools.partial(self.call_log.turn, call_sid, stages))

    async def hang_up(self, call_sid: str) -> bool:
        """End a live call on the operator's request, here or on the gateway carrying it; False when no
        such call is live."""
        if await self.hang_up_here(call_sid):
            return True
        return self.others is not None and await self.others.hang_up(call_sid)

    async def hang_up_here(self, call_sid: str) -> bool:
        call = self.live.get(call_sid)
        if call is None or call.hang_up is None:
            return False
        await call.hang_up()
        return True

    async def live_calls(self) -> list[dict[str, Any]]:
        """Every live call for the console: this gateway's, or every gateway's when they share state."""
        if self.others is not None:
            return await self.others.live_calls()
        return [
            {
                "call_sid": call.call_sid,
                "caller": call.caller,
                "mode": "AI",
                "started_at": call.started_at,
                "transcript": [{"role": role, "text": text} for role, text in call.transcript],
            }
            for call in self.live.values()
        ]

    async def state_of(self, call_sid: str) -> tuple[bool, list[tuple[str, str]]]:
        """Whether the call is live (on any gateway), and what was said in it so far."""
        call = self.live.get(call_sid)
        if call is not None:
            return True, list(call.transcript)
        if self.others is not None and (said := await self.others.transcript_of(call_sid)) is not None:
            return True, said
        return False, []

    async def news(self, poll_s: float) -> None:
        """Return when the live calls may have changed: at once on another gateway's event, else after
        `poll_s` (this process's calls are plain memory, looked at again)."""
        if self.others is not None:
            await self.others.news()
        else:
            await asyncio.sleep(poll_s)

    def drained(self, call_sid: str) -> None:
        self.remember(call_sid, "drained", "")
        if self.others is not None:
            self.others.announce(call_sid, "drained", "")

    def remember(self, call_sid: str, kind: str, detail: str) -> None:
        """Keep what the call's <Connect action> must say: Twilio may fetch it from any gateway."""
        kept: OrderedDict[str, str] | OrderedDict[str, None]
        if kind == "failed":
            kept = self._failures
            self._failures[call_sid] = detail
        else:
            kept = self._drained
            self._drained[call_sid] = None
        while len(kept) > self._remember:
            kept.popitem(last=False)

    def take_drained(self, call_sid: str) -> bool:
        if call_sid not in self._drained:
            return False
        del self._drained[call_sid]
        return True

    def ended(self, call_sid: str, reason: str) -> None:
        if call_sid in self.live:
            self.live[call_sid].outcome = reason

    def failed(self, call_sid: str, reason: str) -> None:
        self.ended(call_sid, f"failed: {reason}")
        self.remember(call_sid, "failed", reason)
        if self.others is not None:
            self.others.announce(call_sid, "failed", reason)

    def take_failure(self, call_sid: str) -> str | None:
        """The reason this call's agent failed, once: the `<Connect action>` asks exactly once."""
        return self._failures.pop(call_sid, None)

    async def closed(self, call_sid: str, default_outcome: str) -> None:
        call = self.live.pop(call_sid, None)
        if call is not None:
            self.feeds.ended(call_sid, call.outcome or default_outcome)
        if call is not None and self.call_log is not None:
            outcome = call.outcome or default_outcome
            self._record(call, "end", functools.partial(self.call_log.ended, call_sid, outcome))
            assert call.last_write is not None
            await asyncio.shield(call.last_write)  # the call's record is complete when it is gone

    def _record(self, call: LiveCall, what: str, write: Callable[[], Awaitable[None]]) -> None:
        previous = call.last_write

        async def in_turn() -> None:
            if previous is not None:
                await previous
            try:
                await write()
            except Exception as exc:  # the call matters more than its record: log, count, carry on
                metrics.CALL_LOG_FAILURES.labels(what).inc()
                log.error("CALL_LOG_FAILED what=%s error=%r", what, exc)

        call.last_write = asyncio.ensure_future(in_turn())
