"""Serve the gateway on one socket: Hypercorn for HTTP, `asgi_websocket` for the Media Streams socket.

This is Hypercorn's own asyncio worker loop (lifespan, per-connection `TCPServer`, graceful shutdown)
with one change: connections are accepted by `Listener`, which keeps Media Streams upgrades for the
`websockets`-based path. It uses Hypercorn's connection classes, so `pyproject.toml` pins Hypercorn's
minor version; `tests/test_front_door.py` covers the hand-over both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable

from hypercorn.asyncio.lifespan import Lifespan
from hypercorn.asyncio.statsd import StatsdLogger
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.typing import LifespanState
from hypercorn.utils import wrap_app
from quart import Quart

from voice_gateway.server.asgi_websocket import AsgiApp, AsgiWebSocket
from voice_gateway.server.listener import Listener

log = logging.getLogger("voice_gateway")


async def serve(
    app: Quart,
    media_path: str,
    media_app: AsgiApp,
    config: Config,
    sock: socket.socket,
    shutdown_trigger: Callable[[], Awaitable[object]],
) -> None:
    config.set_statsd_logger_class(StatsdLogger)
    loop = asyncio.get_running_loop()
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    state: LifespanState = {}
    lifespan = Lifespan(wrapped, config, loop, state)
    lifespan_task = loop.create_task(lifespan.handle_lifespan())
    await lifespan.wait_for_startup()
    if lifespan_task.done() and (error := lifespan_task.exception()) is not None:
        raise error

    context = WorkerContext(None)
    tasks: set[asyncio.Task[None]] = set()
    server_addr = sock.getsockname()[:2]

    async def serve_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await TCPServer(wrapped, loop, config, context, state, reader, writer)

    def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Registered as it is created, not when it first runs, so graceful shutdown cannot miss it.
        task = loop.create_task(serve_http(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def websocket() -> AsgiWebSocket:
        return AsgiWebSocket(media_app, config.websocket_max_message_size, server_addr, tasks)

    undecided: set[Listener] = set()
    server = await loop.create_server(
        lambda: Listener(media_path, websocket, http, undecided), sock=sock, backlog=config.backlog
    )
    try:
        await shutdown_trigger()
    finally:
        await context.terminated.set()
        server.close()
        # A connection still sending its first request head would start its task after the wait below
        # and run against a stopped app; like Hypercorn's idle connections at shutdown, it is closed.
        for door in list(undecided):
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
