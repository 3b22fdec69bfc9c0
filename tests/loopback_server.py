"""Serve a Quart app on a free loopback port and announce it, for stand-in servers run as processes."""

from __future__ import annotations

import os
import socket

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart


async def serve_on_free_port(app: Quart, ready_marker: str) -> None:
    """Bind 127.0.0.1:0 ourselves so the port is known, print `<ready_marker> port=N`, then serve.
    LOOPBACK_SERVER_HOST binds another local address (a multi-host test's bridge)."""
    sock = socket.socket()
    sock.bind((os.environ.get("LOOPBACK_SERVER_HOST", "127.0.0.1"), 0))
    sock.listen()
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    print(f"{ready_marker} port={sock.getsockname()[1]}", flush=True)
    await serve(app, config)  # type: ignore[arg-type]
