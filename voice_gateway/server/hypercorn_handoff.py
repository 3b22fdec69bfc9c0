"""Serve the gateway on one socket: Hypercorn for HTTP, `asgi_websocket` for the Media Streams socket.

This is Hypercorn's own asyncio worker loop (lifespan, per-connection `TCPServer`, graceful shutdown)
with two changes: connections are accepted by `Listener`, which admits them (caps per client and in
total, a file-descriptor budget, a request-head timeout) and keeps Media Streams upgrades for the
`websockets`-based path; and each HTTP connection is a `HypercornConnection` (head timeout on every
request, prompt close on the client's EOF). It uses Hypercorn's connection classes, so `pyproject.toml`
pins Hypercorn's minor version; `tests/test_listener.py` and `tests/server/` cover the hand-over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hypercorn.asyncio.lifespan import Lifespan
from hypercorn.asyncio.statsd import StatsdLogger
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.typing import LifespanState
from hypercorn.utils import wrap_app
from quart import Quart

from voice_gateway.server.admission import Admission, ListenerLimits
from voice_gateway.server.asgi_websocket import AsgiApp, AsgiWebSocket
from voice_gateway.server.hypercorn_connection import HypercornConnection
from voice_gateway.server.listener import Doors, Listener

log = logging.getLogger("voice_gateway")


@dataclass(slots=True)
class Connections:
    """What a running listener holds, for graceful shutdown (and for tests to see that nothing leaks)."""

    admission: Admission
    # Tasks serving connections (HTTP, and Media Streams calls): shutdown waits for them.
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    undecided: set[Listener] = field(default_factory=set)


async def serve(
    app: Quart,
    media_path: str | None,
    media_app: AsgiApp,
    config: Config,
    sock: socket.socket,
    shutdown_trigger: Callable[[], Awaitable[object]],
    limits: ListenerLimits,
    connections: Connections,
) -> None:
    """Serve until `shutdown_trigger` returns; `media_path=None` sends every request to Hypercorn."""
    config.set_statsd_logger_class(StatsdLogger)
    config.keep_alive_timeout = limits.keep_alive_timeout_s
    loop = asyncio.get_running_loop()
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    state: LifespanState = {}
    lifespan = Lifespan(wrapped, config, loop, state)
    lifespan_task = loop.create_task(lifespan.handle_lifespan())
    await lifespan.wait_for_startup()
    if lifespan_task.done() and (error := lifespan_task.exception()) is not None:
        raise error

    context = WorkerContext(None)
    tasks = connections.tasks
    server_addr = sock.getsockname()[:2]

    def http(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: float,
        note: Callable[[str], None],
    ) -> None:
        connection = HypercornConnection(
            wrapped,
            loop,
            config,
            context,
            state,
            reader,
            writer,
            header_timeout_s=limits.header_timeout_s,
            head_deadline=deadline,
            note_timeout=note,
        )
        # Registered as it is created, not when it first runs, so graceful shutdown cannot miss it.
        task = loop.create_task(connection.run())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def websocket(on_lost: Callable[[], None]) -> AsgiWebSocket:
        return AsgiWebSocket(media_app, config.websocket_max_message_size, server_addr, tasks, on_lost)

    doors = Doors(
        media_path, websocket, http, connections.admission, limits.header_timeout_s, connections.undecided
    )
    server = await loop.create_server(lambda: Listener(doors), sock=sock, backlog=config.backlog)
    try:
        await shutdown_trigger()
    finally:
        await context.terminated.set()
        server.close()
        # A connection still sending its first request head would start its task after the wait below
        # and run against a stopped app; like Hypercorn's idle connections at shutdown, it is closed.
        for door in list(doors.undecided):
            door.close()
        if tasks:
            # Calls in progress get the grace period to finish; then they are cancelled, which still
            # runs each call's cleanup (the bridge tells the agent the call ended).
            _, pending = await asyncio.wait(set(tasks), timeout=config.graceful_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("GATEWAY_STOP_CANCELLED connections=%d", len(pending))
                await asyncio.wait(pending, timeout=config.graceful_timeout)
        await lifespan.wait_for_shutdown()
        lifespan_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lifespan_task
