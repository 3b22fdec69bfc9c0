"""Each live call's conversation as it happens, for one listener: what the agent heard, what it said, each
turn's latency, and how the call ended (`GET /calls/<CallSid>/live`, calls/live_feed.py).

The call registry publishes here as the bridge tells it; nothing here waits on a listener. Bounded three
ways: at most one listener per call, at most `max_feeds` at once, and each feed holds at most
`QUEUE_EVENTS` undelivered events (past that the oldest is dropped and counted; the end always arrives).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass, field

from voice_gateway import metrics

QUEUE_EVENTS = 256
MAX_FEEDS = 256


@dataclass(frozen=True, slots=True)
class FeedEvent:
    # started, heard (the caller, as transcribed), said (an agent sentence as sent), played (what the
    # caller heard of the agent's reply, shorter than what was said when they cut in), turn, end.
    kind: str
    data: dict[str, object]

    def sse(self) -> bytes:
        """One server-sent event; JSON keeps every line break inside the data escaped."""
        return f"event: {self.kind}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n".encode()


@dataclass(slots=True)
class Feed:
    call_sid: str
    queue: asyncio.Queue[FeedEvent] = field(default_factory=lambda: asyncio.Queue(QUEUE_EVENTS))
    started: bool = False

    def put(self, event: FeedEvent) -> None:
        if event.kind == "started":
            self.started = True
        if self.queue.full():
            self.queue.get_nowait()  # a listener that stopped reading loses the oldest, never the end
            metrics.LIVE_FEED_EVENTS_DROPPED.inc()
        self.queue.put_nowait(event)


class FeedRefused(Exception):
    """Why a listener gets no feed; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason  # a metric label from a closed set


class LiveFeeds:
    def __init__(self, max_feeds: int = MAX_FEEDS, remember_ended: int = 10_000) -> None:
        self._feeds: dict[str, Feed] = {}
        self._max_feeds = max_feeds
        self._ended: OrderedDict[str, str] = OrderedDict()
        self._remember = remember_ended

    def __len__(self) -> int:
        return len(self._feeds)

    def subscribe(self, call_sid: str, live: bool, so_far: list[tuple[str, str]]) -> Feed:
        """The call's feed (a call not yet started may be listened to from its TwiML on); `so_far` is the
        transcript of a call already live, replayed first."""
        if call_sid in self._ended:
            raise FeedRefused(410, "ended", f"call {call_sid} has ended: {self._ended[call_sid]}")
        if call_sid in self._feeds:
            raise FeedRefused(409, "busy", f"call {call_sid} already has a listener; one at a time")
        if len(self._feeds) >= self._max_feeds:
            raise FeedRefused(503, "full", f"{self._max_feeds} live feeds are open; try again later")
        feed = Feed(call_sid)
        if live:
            feed.put(FeedEvent("started", {}))
            for role, text in so_far:
                feed.put(FeedEvent("heard" if role == "user" else "played", {"text": text}))
        self._feeds[call_sid] = feed
        return feed

    def unsubscribe(self, feed: Feed) -> None:
        if self._feeds.get(feed.call_sid) is feed:
            del self._feeds[feed.call_sid]

    def publish(self, call_sid: str, kind: str, data: dict[str, object]) -> None:
        self.deliver(call_sid, kind, data)

    def deliver(self, call_sid: str, kind: str, data: dict[str, object]) -> None:
        """Hand an event to this process's listener; with several gateways `publish` goes through the
        others first (cluster/feeds.py) and each one delivers what it hears."""
        feed = self._feeds.get(call_sid)
        if feed is not None:
            feed.put(FeedEvent(kind, data))
        if kind == "end":
            self._ended[call_sid] = str(data.get("outcome", ""))
            while len(self._ended) > self._remember:
                self._ended.popitem(last=False)

    def transcript(self, call_sid: str, role: str, text: str, is_final: bool) -> None:
        # The agent sends each sentence as it speaks it (not final), then what the caller heard (final).
        if role == "user" and is_final:
            self.publish(call_sid, "heard", {"text": text})
        elif role == "agent":
            self.publish(call_sid, "played" if is_final else "said", {"text": text})

    def ended(self, call_sid: str, outcome: str) -> None:
        self.publish(call_sid, "end", {"outcome": outcome})
