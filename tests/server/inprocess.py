"""The listener (`hypercorn_handoff.serve`) in a thread of the test process, with a tiny app.

Unlike the gateway process, its bookkeeping is visible: open connections per client, tasks, connections
still reading their first head, and the process's own file descriptors. The server runs on its own
event loop, so clients here are as independent of it as a real client would be.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypercorn.config import Config
from quart import Quart, request

from voice_gateway.server.admission import Admission, ListenerLimits
from voice_gateway.server.asgi_websocket import Receive, Scope, Send
from voice_gateway.server.hypercorn_handoff import Connections, serve
from voice_gateway.server.listener import Listener

MEDIA_PATH = "/ws/media"
T = TypeVar("T")


class RecordingTasks(set[asyncio.Task[None]]):
    """The server's task set, remembering every task it was given (for their outcomes)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[asyncio.Task[None]] = []

    def add(self, task: asyncio.Task[None]) -> None:
        self.seen.append(task)
        super().add(task)


class CountingListeners(set[Listener]):
    """The server's set of connections reading their first head, counting every one it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.added = 0

    def add(self, listener: Listener) -> None:
        self.added += 1
        super().add(listener)


def tiny_app() -> Quart:
    app = Quart("listener-test")

    @app.get("/healthz")
    async def healthz() -> str:
        return "ok"

    @app.post("/echo")
    async def echo() -> str:
        return str(len(await request.get_data()))

    return app


async def media_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Refuses `?refuse` with 403 (close before accept); otherwise echoes text until the peer leaves."""
    await receive()  # websocket.connect
    if scope["query_string"] == b"refuse":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class InProcessListener:
    def __init__(self, limits: ListenerLimits) -> None:
        self.limits = limits
        self.connections = Connections(Admission(limits), RecordingTasks(), CountingListeners())
        self.port = 0
        # Connections tests opened (they count them); `quiet` first waits for the server to accept them.
        self.opened = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    @property
    def tasks(self) -> RecordingTasks:
        assert isinstance(self.connections.tasks, RecordingTasks)
        return self.connections.tasks

    def start(self) -> InProcessListener:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("in-process listener did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the server's loop (from a synchronous test) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def acall(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """`call` from an async test: awaits on the test's loop without blocking it."""
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def quiet(self, within_s: float = 10.0) -> None:
        """On the server's loop: wait until every connection is gone and every task has finished.

        Closing happens on kernel events the test cannot await (a FIN or RST reaching this loop), so
        this checks between short pauses, up to `within_s`, then says what is still held.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        held = self.connections
        assert isinstance(held.undecided, CountingListeners)
        while held.undecided.added < self.opened or held.admission.open or held.tasks or held.undecided:
            if loop.time() > deadline:
                raise AssertionError(
                    f"still held after {within_s}s: accepted={held.undecided.added}/{self.opened} "
                    f"open={held.admission.open} "
                    f"per_client={held.admission.per_client} tasks={len(held.tasks)} "
                    f"undecided={len(held.undecided)}"
                )
            pending = set(held.tasks)
            if pending:
                await asyncio.wait(pending, timeout=0.05)
            else:
                await asyncio.sleep(0.005)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = Config()
        config.accesslog = None
        config.graceful_timeout = 1.0
        stop = self._stop

        async def serving_until_stopped() -> None:
            self._ready.set()  # serve() awaits its trigger once it is accepting connections
            await stop.wait()

        try:
            await serve(
                tiny_app(),
                MEDIA_PATH,
                media_app,
                config,
                sock,
                serving_until_stopped,
                self.limits,
                self.connections,
            )
        finally:
            sock.close()
