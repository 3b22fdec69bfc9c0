"""Each call's live events (calls/feed.py) through PostgreSQL, so a listener on any gateway hears a call
carried by another: `publish` notifies every gateway, and each one delivers what it hears to its own
listener and wakes its console's live view.

An event is notified only after the call's database writes asked for before it (and the one asked for in
the same step, hence the loop tick), so a console that reloads its view on hearing it finds the rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from voice_gateway.calls.feed import LiveFeeds
from voice_gateway.cluster.db import FAILURES

log = logging.getLogger("voice_gateway.cluster")

FEED_CHANNEL = "agentlocator_feed"
MAX_TEXT = 1500  # characters of one said or heard text in a notification (bus.MAX_PAYLOAD bytes in all)


class HasWrites(Protocol):
    last_write: asyncio.Future[None] | None


class RelayedFeeds(LiveFeeds):
    def __init__(
        self,
        notify: Callable[[str], None],
        live: Mapping[str, HasWrites],
        on_news: Callable[[], None],
    ) -> None:
        super().__init__()
        self._notify = notify
        self._live = live
        self._on_news = on_news
        self._chains: dict[str, asyncio.Future[None]] = {}

    def publish(self, call_sid: str, kind: str, data: dict[str, object]) -> None:
        short = {k: v[:MAX_TEXT] if isinstance(v, str) else v for k, v in data.items()}
        payload = json.dumps({"call": call_sid, "kind": kind, "data": short}, ensure_ascii=False)
        asyncio.get_running_loop().call_soon(self._after_writes, call_sid, payload)

    def _after_writes(self, call_sid: str, payload: str) -> None:
        call = self._live.get(call_sid)
        waits = [f for f in (self._chains.get(call_sid), call.last_write if call else None) if f is not None]
        if not any(not f.done() for f in waits):
            self._notify(payload)
            return

        async def in_turn() -> None:
            await asyncio.gather(*waits, return_exceptions=True)
            self._notify(payload)

        chain = asyncio.ensure_future(in_turn())
        self._chains[call_sid] = chain
        chain.add_done_callback(lambda done: self._forget(call_sid, done))

    def _forget(self, call_sid: str, done: asyncio.Future[None]) -> None:
        if self._chains.get(call_sid) is done:
            del self._chains[call_sid]

    def heard(self, payload: str) -> None:
        """A notification from any gateway (this one included)."""
        try:
            event: dict[str, Any] = json.loads(payload)
            call_sid, kind, data = str(event["call"]), str(event["kind"]), dict(event["data"])
        except (ValueError, KeyError, TypeError) as exc:
            FAILURES.labels("bad_notification").inc()
            log.error("FEED_NOTIFICATION_UNREADABLE error=%r", exc)
            return
        self.deliver(call_sid, kind, data)
        self._on_news()
