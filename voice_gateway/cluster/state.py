"""This gateway among the others on one PostgreSQL: its heartbeat, the sweep of what the dead left, the
live calls of every gateway for the console, and hang-up requests carried to the gateway with the call.

Every `heartbeat_s` the gateway stamps its row in gateway_hosts with the database's clock; one whose
stamp is older than `dead_after_s` carries nothing any more: its lines stop counting against the cap and
its calls leave every console's live view (lines.py, `live_calls`), and the next sweep deletes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.cluster.bus import PgBus
from voice_gateway.cluster.db import FAILURES, db_now, plain_dsn
from voice_gateway.cluster.feeds import FEED_CHANNEL, MAX_TEXT, HasWrites, RelayedFeeds
from voice_gateway.cluster.lines import SharedLines
from voice_gateway.settings import Settings

log = logging.getLogger("voice_gateway.cluster")

HANG_UP_CHANNEL = "agentlocator_hangup"
ENDED_CHANNEL = "agentlocator_call_ended"  # a call failed or was drained: what its <Connect action> says
BEAT = text(
    "INSERT INTO gateway_hosts (gateway_id, seen_at) VALUES (:gateway, :now) "
    "ON CONFLICT (gateway_id) DO UPDATE SET seen_at = :now"
)
SWEEP = (
    text(
        "DELETE FROM gateway_lines WHERE (state = 'reserved' AND reserved_until < :now) OR (state = 'live' "
        "AND gateway_id NOT IN (SELECT gateway_id FROM gateway_hosts WHERE seen_at >= :alive))"
    ),
    text("DELETE FROM gateway_hosts WHERE seen_at < :alive"),
    text("DELETE FROM console_sessions WHERE expires_at < :now"),
    # A bucket untouched for an hour is full again, the same as no row; a penalty box still running stays.
    text("DELETE FROM rate_buckets WHERE updated < :now - 3600 AND coalesce(blocked_until, 0) < :now"),
)
LIVE = text(
    "SELECT l.call_sid, l.caller, l.started_at, l.gateway_id FROM gateway_lines l JOIN gateway_hosts h "
    "ON h.gateway_id = l.gateway_id WHERE l.state = 'live' AND h.seen_at >= :alive ORDER BY l.started_at"
)
SPOKEN = text("SELECT call_sid, role, text FROM call_transcripts WHERE call_sid = ANY(:sids) ORDER BY id")
FORGET_LINES = text("DELETE FROM gateway_lines WHERE gateway_id = :g")
FORGET_HOST = text("DELETE FROM gateway_hosts WHERE gateway_id = :g")
LIVE_NEWS_MAX_S = 1.0  # a console reloads at least this often, for calls that ended without a word


class SharedState:
    def __init__(self, engine: Callable[[], AsyncEngine], settings: Settings) -> None:
        self._engine = engine
        self.gateway_id = settings.cluster.gateway_id
        self._heartbeat_s = settings.cluster.heartbeat_s
        self._dead_after_s = settings.cluster.dead_after_s
        self.lines = SharedLines(engine, settings)
        self.bus = PgBus(
            plain_dsn(settings.database_url),
            {
                FEED_CHANNEL: self._feed_heard,
                HANG_UP_CHANNEL: self._hang_up_heard,
                ENDED_CHANNEL: self._ended_heard,
            },
        )
        self.feeds: RelayedFeeds | None = None
        self._news = asyncio.Event()
        self._registry: Registry | None = None
        self._beating: asyncio.Task[None] | None = None
        self._joined_at = 0.0
        self._hanging_up: set[asyncio.Task[bool]] = set()

    def relay_feeds(self, registry: Registry) -> RelayedFeeds:
        """Feeds for the call registry (AI mode) whose events every gateway hears; hang-ups and how
        calls ended reach the registry too."""
        self.feeds = RelayedFeeds(
            lambda payload: self.bus.notify(FEED_CHANNEL, payload), registry.live, self._wake
        )
        self._registry = registry
        return self.feeds

    def announce(self, call_sid: str, kind: str, detail: str) -> None:
        payload = {"call": call_sid, "kind": kind, "detail": detail[:MAX_TEXT]}
        self.bus.notify(ENDED_CHANNEL, json.dumps(payload, ensure_ascii=False))

    async def start(self) -> None:
        async with self._engine().begin() as conn:
            now = await db_now(conn)
            await conn.execute(BEAT, {"gateway": self.gateway_id, "now": now})
            self._joined_at = now
            # A gateway restarted under the same GATEWAY_ID carries none of its former calls.
            await conn.execute(
                text("DELETE FROM gateway_lines WHERE gateway_id = :g"), {"g": self.gateway_id}
            )
        await self.bus.start()
        self._beating = asyncio.create_task(self._beat(), name="cluster-heartbeat")
        log.info(
            "CLUSTER_JOINED gateway=%s heartbeat_s=%g dead_after_s=%g",
            self.gateway_id,
            self._heartbeat_s,
            self._dead_after_s,
        )

    async def stop(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
            await asyncio.gather(self._beating, return_exceptions=True)
        await self.lines.settled()
        await self.bus.stop()
        with contextlib.suppress(Exception):  # others see it gone at once instead of after dead_after_s
            async with self._engine().begin() as conn:
                await conn.execute(
                    text("DELETE FROM gateway_hosts WHERE gateway_id = :g"), {"g": self.gateway_id}
                )
        log.info("CLUSTER_LEFT gateway=%s", self.gateway_id)

    async def _beat(self) -> None:
        last = self._joined_at  # the database's time at this gateway's last heartbeat
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                async with self._engine().begin() as conn:
                    now = await db_now(conn)
                    await conn.execute(BEAT, {"gateway": self.gateway_id, "now": now})
                    if now - last > self._dead_after_s:
                        restored = await self.lines.restore(conn, now)
                        log.warning(
                            "HEARTBEAT_RESUMED gateway=%s silent_s=%.1f lines=%d",
                            self.gateway_id,
                            now - last,
                            restored,
                        )
                last = now
                async with self._engine().begin() as conn:
                    swept = 0
                    for statement in SWEEP:
                        result = await conn.execute(
                            statement, {"now": now, "alive": now - self._dead_after_s}
                        )
                        swept += max(0, result.rowcount or 0)
                if swept:
                    self._wake()
            except Exception as exc:  # this gateway's calls go on; others may take it for dead meanwhile
                FAILURES.labels("heartbeat").inc()
                log.error("HEARTBEAT_FAILED gateway=%s error=%r", self.gateway_id, exc)

    def _wake(self) -> None:
        self._news.set()
        self._news = asyncio.Event()

    async def news(self) -> None:
        """Wait for a call event on any gateway, or `LIVE_NEWS_MAX_S` (a gateway that died says nothing)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._news.wait(), LIVE_NEWS_MAX_S)

    async def live_calls(self) -> list[dict[str, Any]]:
        async with self._engine().connect() as conn:
            now = await db_now(conn)
            rows = (await conn.execute(LIVE, {"alive": now - self._dead_after_s})).all()
            sids = [row.call_sid for row in rows]
            spoken: dict[str, list[dict[str, str]]] = {sid: [] for sid in sids}
            if sids:
                for sid, role, said in await conn.execute(SPOKEN, {"sids": sids}):
                    spoken[sid].append({"role": role, "text": said})
        return [
            {
                "call_sid": row.call_sid,
                "caller": row.caller,
                "mode": "AI",
                "started_at": row.started_at,
                "gateway": row.gateway_id,
                "transcript": spoken[row.call_sid],
            }
            for row in rows
        ]

    async def transcript_of(self, call_sid: str) -> list[tuple[str, str]] | None:
        """What was said in a call live on some gateway; None when it is live nowhere."""
        for call in await self.live_calls():
            if call["call_sid"] == call_sid:
                return [(line["role"], line["text"]) for line in call["transcript"]]
        return None

    async def hang_up(self, call_sid: str) -> bool:
        """Ask the gateway carrying this call to end it; False when no live gateway carries it."""
        if await self.transcript_of(call_sid) is None:
            return False
        self.bus.notify(HANG_UP_CHANNEL, json.dumps({"call": call_sid}))
        log.info("HANG_UP_FORWARDED call=%s", call_sid)
        return True

    def _feed_heard(self, payload: str) -> None:
        if self.feeds is not None:
            self.feeds.heard(payload)

    def _ended_heard(self, payload: str) -> None:
        try:
            event = json.loads(payload)
            call_sid, kind, detail = str(event["call"]), str(event["kind"]), str(event["detail"])
        except (ValueError, KeyError, TypeError):
            FAILURES.labels("bad_notification").inc()
            return
        if self._registry is not None and kind in {"failed", "drained"}:
            self._registry.remember(call_sid, kind, detail)

    def _hang_up_heard(self, payload: str) -> None:
        try:
            call_sid = str(json.loads(payload)["call"])
        except (ValueError, KeyError, TypeError):
            FAILURES.labels("bad_notification").inc()
            return
        if self._registry is not None:
            task = asyncio.ensure_future(self._registry.hang_up_here(call_sid))
            self._hanging_up.add(task)
            task.add_done_callback(self._hanging_up.discard)


__all__ = ["HasWrites", "SharedState"]


class Registry(Protocol):
    """What of the call registry (calls/registry.py) the shared state calls back."""

    @property
    def live(self) -> Mapping[str, HasWrites]: ...

    async def hang_up_here(self, call_sid: str) -> bool: ...

    def remember(self, call_sid: str, kind: str, detail: str) -> None: ...
