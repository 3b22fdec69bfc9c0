"""MAX_CONCURRENT_CALLS across every gateway on one PostgreSQL: each call holds a row in gateway_lines.

`/incoming_call` reserves the call's line before it hands Twilio a <Stream> (the busy message when every
line is held), so a burst of calls arriving on several gateways at once gets exactly MAX_CONCURRENT_CALLS
streams: the count and the insert run under one transaction-level advisory lock, which every gateway
takes, so no two gateways can both see the last free line. The stream's `start` turns the reservation
into a live line carried by this gateway (whichever gateway answered the webhook). A reservation whose
stream never starts lapses after LINE_RESERVATION_S; a live line lasts while its gateway's heartbeat is
fresh (state.py), so a gateway killed mid-call frees its lines within GATEWAY_DEAD_AFTER_S.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voice_gateway.calls.limits import CallCap, Refusal
from voice_gateway.cluster.db import FAILURES, db_now
from voice_gateway.settings import Settings

log = logging.getLogger("voice_gateway.cluster")

# Fixed for good: every gateway version sharing one database must take the same locks. The count of lines
# is taken under one lock; a stream's own row under a lock of its CallSid (two-key advisory locks are a
# key space apart from one-key ones), so the starts of calls that already hold a reserved line, or of any
# call when there is no cap, do not wait for each other.
LINES_LOCK = 0x41674C6F634C696E
CALL_LOCK_SPACE = 0x4167

HELD = text(
    "SELECT count(*) FROM gateway_lines l WHERE (l.state = 'reserved' AND l.reserved_until >= :now) "
    "OR (l.state = 'live' AND l.gateway_id IN (SELECT gateway_id FROM gateway_hosts WHERE seen_at >= :alive))"
)
FIND = text(
    "SELECT l.state, l.reserved_until, l.gateway_id, h.seen_at FROM gateway_lines l "
    "LEFT JOIN gateway_hosts h ON h.gateway_id = l.gateway_id WHERE l.call_sid = :call_sid"
)
RESERVE = text(
    "INSERT INTO gateway_lines (call_sid, gateway_id, state, reserved_until, caller, started_at) "
    "VALUES (:call_sid, :gateway, 'reserved', :until, '', :now) ON CONFLICT (call_sid) DO UPDATE SET "
    "gateway_id = :gateway, state = 'reserved', reserved_until = :until, started_at = :now"
)
GO_LIVE = text(
    "INSERT INTO gateway_lines (call_sid, gateway_id, state, reserved_until, caller, started_at) "
    "VALUES (:call_sid, :gateway, 'live', 0, :caller, :now) ON CONFLICT (call_sid) DO UPDATE SET "
    "gateway_id = :gateway, state = 'live', reserved_until = 0, caller = :caller, started_at = :now"
)
RESTORE = text(
    "INSERT INTO gateway_lines (call_sid, gateway_id, state, reserved_until, caller, started_at) "
    "VALUES (:call_sid, :gateway, 'live', 0, :caller, :now) ON CONFLICT (call_sid) DO NOTHING"
)
CALL_LOCK = text("SELECT pg_advisory_xact_lock(:space, hashtext(:call_sid))")
FREE = text("DELETE FROM gateway_lines WHERE call_sid = :call_sid AND gateway_id = :gateway")


class SharedLines:
    """`CallLines` on PostgreSQL; `local` keeps this gateway's own streams (duplicates, the drain)."""

    def __init__(self, engine: Callable[[], AsyncEngine], settings: Settings) -> None:
        self._engine = engine
        self.max_calls = settings.max_concurrent_calls
        self.gateway_id = settings.cluster.gateway_id
        self._reservation_s = settings.cluster.line_reservation_s
        self._dead_after_s = settings.cluster.dead_after_s
        self.local = CallCap(0)
        self._callers: dict[str, str] = {}  # this gateway's live calls, to restore their rows (restore)
        self.draining = False
        self._freeing: set[asyncio.Task[None]] = set()

    @property
    def open_streams(self) -> int:
        return self.local.open_streams

    async def held(self, conn: AsyncConnection, now: float) -> int:
        alive = now - self._dead_after_s
        return int((await conn.execute(HELD, {"now": now, "alive": alive})).scalar_one())

    async def admit(self, call_sid: str) -> bool:
        if self.draining:
            return False
        if self.max_calls == 0:
            return True
        try:
            async with self._engine().begin() as conn:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LINES_LOCK})
                now = await db_now(conn)
                found = (await conn.execute(FIND, {"call_sid": call_sid})).first()
                # Twilio retrying the webhook for a call already admitted finds its line still there.
                if found is not None and self._holds(found, now):
                    if found.state == "live":
                        return True
                elif await self.held(conn, now) >= self.max_calls:
                    return False
                until = now + self._reservation_s
                await conn.execute(
                    RESERVE, {"call_sid": call_sid, "gateway": self.gateway_id, "until": until, "now": now}
                )
                return True
        except Exception as exc:  # no database, no count: the caller hears the busy message
            FAILURES.labels("admit").inc()
            log.error("LINES_ADMIT_FAILED call=%s error=%r", call_sid, exc)
            return False

    async def take(self, call_sid: str, caller: str) -> Refusal | None:
        if call_sid in self.local._live:
            return Refusal.DUPLICATE
        try:
            async with self._engine().begin() as conn:
                await conn.execute(CALL_LOCK, {"space": CALL_LOCK_SPACE, "call_sid": call_sid})
                now = await db_now(conn)
                found = (await conn.execute(FIND, {"call_sid": call_sid})).first()
                if found is not None and found.state == "live" and self._holds(found, now):
                    return Refusal.DUPLICATE
                reserved = found is not None and self._holds(found, now)
                # A stream nobody reserved a line for (its reservation lapsed) still counts against the cap.
                if not reserved and self.max_calls > 0:
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LINES_LOCK})
                    if await self.held(conn, now) >= self.max_calls:
                        return Refusal.OVER_CAPACITY
                await conn.execute(
                    GO_LIVE, {"call_sid": call_sid, "gateway": self.gateway_id, "caller": caller, "now": now}
                )
        except Exception as exc:  # the call was already answered: carrying it beats dropping it
            FAILURES.labels("take").inc()
            log.error("LINES_TAKE_FAILED call=%s error=%r", call_sid, exc)
        if self.local.claim(call_sid) is not None:  # another stream here took it while we waited
            return Refusal.DUPLICATE
        self._callers[call_sid] = caller
        return None

    async def restore(self, conn: AsyncConnection, now: float) -> int:
        """Put back the rows of this gateway's live calls, which the others swept while it looked dead
        (no heartbeat for GATEWAY_DEAD_AFTER_S: the database was out of reach, or the process stalled)."""
        for call_sid, caller in self._callers.items():
            values = {"call_sid": call_sid, "gateway": self.gateway_id, "caller": caller, "now": now}
            await conn.execute(RESTORE, values)
        return len(self._callers)

    def _holds(self, found: Row[Any], now: float) -> bool:
        if found.state == "reserved":
            return bool(found.reserved_until >= now)
        return found.seen_at is not None and bool(found.seen_at >= now - self._dead_after_s)

    def release(self, call_sid: str) -> None:
        self.local.release(call_sid)
        self._callers.pop(call_sid, None)
        task = asyncio.ensure_future(self._free(call_sid))
        self._freeing.add(task)
        task.add_done_callback(self._freeing.discard)

    async def _free(self, call_sid: str) -> None:
        try:
            async with self._engine().begin() as conn:
                await conn.execute(FREE, {"call_sid": call_sid, "gateway": self.gateway_id})
            log.info("LINE_FREED call=%s", call_sid)
        except Exception as exc:  # the heartbeat's sweep frees it once this gateway is gone
            FAILURES.labels("release").inc()
            log.error("LINES_RELEASE_FAILED call=%s error=%r", call_sid, exc)

    async def settled(self) -> None:
        """Wait for the releases under way (before the engine closes)."""
        while self._freeing:
            await asyncio.gather(*self._freeing, return_exceptions=True)
