"""Hypercorn's per-connection server with two of a production server's guarantees it lacks.

- Every request head must be whole within `header_timeout_s` of its first byte (the first one: of the
  connection's arrival). Hypercorn's only timer is keep-alive, which starts when a connection turns idle
  and stops at a whole head: a head trickled in on a kept-alive connection had `keep_alive_timeout`.
- A client that closes its side is closed at once. Hypercorn's read loop ends at EOF, but the
  connection's task group then waits for the keep-alive timer, so the socket sat in CLOSE-WAIT, holding
  a file descriptor, for the whole keep-alive timeout (75 s here).

It overrides `TCPServer`'s private `_read_data` and `_idle_timeout`, which is why `pyproject.toml` pins
Hypercorn's minor version; `tests/server/test_timeouts.py` fails if an upgrade changes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from ssl import SSLError

from hypercorn.asyncio.tcp_server import MAX_RECV, TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.typing import AppWrapper, LifespanState


class HypercornConnection(TCPServer):  # type: ignore[misc]  # Hypercorn is untyped here (pyproject)
    def __init__(
        self,
        app: AppWrapper,
        loop: asyncio.AbstractEventLoop,
        config: Config,
        context: WorkerContext,
        state: LifespanState,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        header_timeout_s: float,
        head_deadline: float,
        note_timeout: Callable[[str], None],
    ) -> None:
        super().__init__(app, loop, config, context, state, reader, writer)
        self._header_timeout_s = header_timeout_s
        # Loop time by which the request head being read must be whole; None while none is being read.
        self._head_deadline: float | None = head_deadline
        self._note_timeout = note_timeout
        self._idle = True
        self._peer_closed = False

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, Updated):
            # Either a whole head arrived (idle=False) or the next cycle begins (idle=True): no head
            # is in progress; the next one's clock starts at its first byte.
            self._idle = event.idle
            self._head_deadline = None
        await super().protocol_send(event)

    async def _read_data(self) -> None:
        while not self.reader.at_eof():
            try:
                data = await asyncio.wait_for(self.reader.read(MAX_RECV), self.config.read_timeout)
            except (ConnectionError, OSError, TimeoutError, SSLError):
                break
            if data and self._idle and self._head_deadline is None:
                self._head_deadline = self.loop.time() + self._header_timeout_s
                await self.idle_task.restart(self._task_group, self._idle_timeout)
            await self.protocol.handle(RawData(data))
        self._peer_closed = True
        await self.protocol.handle(Closed())
        if self._idle:
            await self.idle_task.restart(self._task_group, self._idle_timeout)

    async def _idle_timeout(self) -> None:
        phase, timeout = "idle", float(self.config.keep_alive_timeout)
        if self._peer_closed:
            phase, timeout = "", 0.0
        elif self._head_deadline is not None:
            phase, timeout = "head", max(0.0, self._head_deadline - self.loop.time())
        try:
            await asyncio.wait_for(self.context.terminated.wait(), timeout)
        except TimeoutError:
            if phase:
                self._note_timeout(phase)
        await asyncio.shield(self._initiate_server_close())
