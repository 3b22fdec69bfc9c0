"""LISTEN/NOTIFY between the gateways on one PostgreSQL: each gateway listens on one connection and
notifies on another, in the order it was asked to (one sender task), so a call's events arrive in order.

Bounded: at most `QUEUE` notifications wait to be sent (past that the newest is dropped and counted), and
PostgreSQL refuses a payload over 8000 bytes, so callers keep theirs short (feeds.py cuts long text).
A lost connection is opened again after `RETRY_S`; what was notified meanwhile is lost to this gateway,
which is why nothing here is a record: records are rows, and the console reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]  # no stubs; used only here

from voice_gateway.cluster.db import FAILURES

log = logging.getLogger("voice_gateway.cluster")

QUEUE = 4096
RETRY_S = 1.0
MAX_PAYLOAD = 7900  # PostgreSQL's limit is 8000 bytes

Handler = Callable[[str], None]


class PgBus:
    def __init__(self, dsn: str, handlers: dict[str, Handler]) -> None:
        self._dsn = dsn
        self._handlers = handlers
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="cluster-listen"),
            asyncio.create_task(self._send(), name="cluster-notify"),
        ]
        # Serving starts once this gateway hears the others: a hang-up sent to it is not missed.
        await self.listening.wait()

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):  # the last events of the calls this gateway ended
            await asyncio.wait_for(self._queue.join(), 2.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def notify(self, channel: str, payload: str) -> None:
        if len(payload.encode()) > MAX_PAYLOAD:
            FAILURES.labels("notify_too_long").inc()
            log.error("NOTIFY_TOO_LONG channel=%s bytes=%d", channel, len(payload.encode()))
            return
        try:
            self._queue.put_nowait((channel, payload))
        except asyncio.QueueFull:
            FAILURES.labels("notify_queue_full").inc()

    async def _listen(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
            except Exception as exc:
                FAILURES.labels("listen").inc()
                log.error("LISTEN_CONNECT_FAILED error=%r", exc)
                await asyncio.sleep(RETRY_S)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(_setter(lost))
            try:
                for channel, handler in self._handlers.items():
                    await conn.add_listener(channel, _dispatch(handler))
                self.listening.set()
                await lost.wait()
                FAILURES.labels("listen").inc()
                log.error("LISTEN_CONNECTION_LOST: listening again in %gs", RETRY_S)
            except Exception as exc:
                FAILURES.labels("listen").inc()
                log.error("LISTEN_FAILED error=%r", exc)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(RETRY_S)

    async def _send(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                channel, payload = await self._queue.get()
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self._dsn)
                    await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
                except Exception as exc:
                    FAILURES.labels("notify").inc()
                    log.error("NOTIFY_FAILED channel=%s error=%r", channel, exc)
                    conn = None
                finally:
                    self._queue.task_done()
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))


def _dispatch(handler: Handler) -> Callable[[object, int, str, str], None]:
    def on_notification(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            handler(payload)
        except Exception:
            FAILURES.labels("notification_handler").inc()
            log.exception("NOTIFICATION_HANDLER_FAILED")

    return on_notification


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _conn: event.set()
