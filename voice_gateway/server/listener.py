"""The gateway's listening socket: each connection's first request decides who serves it.

A WebSocket upgrade on the Media Streams path goes to `server.asgi_websocket` (frames parsed by `websockets`);
everything else — every HTTP route, and any other upgrade — is handed to Hypercorn unchanged, with the
bytes already read. The decision is made once per connection, on the request line and headers only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from voice_gateway.server.asgi_websocket import AsgiWebSocket

# A request head longer than this is not a Media Streams upgrade; Hypercorn answers it (431/400).
MAX_HEAD_BYTES = 16 * 1024
# Only a GET can be an upgrade: anything else is handed over after this many bytes, without waiting.
_GET = b"GET "

# Called with the connection's streams; it starts (and keeps track of) the task that serves them.
HttpHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], None]
WebSocketFactory = Callable[[], AsgiWebSocket]


def is_upgrade_to(head: bytes, path: str) -> bool:
    """True for `GET <path>[?query] HTTP/1.1` with an `Upgrade: websocket` header."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET":
        return False
    if parts[1].split(b"?", 1)[0] != path.encode("latin-1"):
        return False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and b"websocket" in value.lower():
            return True
    return False


class Listener(asyncio.Protocol):
    def __init__(
        self,
        media_path: str,
        websocket: WebSocketFactory,
        http: HttpHandler,
        undecided: set[Listener] | None = None,
    ) -> None:
        self._media_path = media_path
        self._websocket = websocket
        self._http = http
        self._transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._eof = False
        # The server's connections still reading their first request head (see `close_undecided`).
        self._undecided = undecided if undecided is not None else set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport implements asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        self._undecided.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._undecided.discard(self)

    def close(self) -> None:
        """Drop a connection that has not sent a whole request yet (graceful shutdown)."""
        self._undecided.discard(self)
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._head += data
        if not self._head.startswith(_GET[: len(self._head)]) or len(self._head) > MAX_HEAD_BYTES:
            self._to_http()
            return
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            return
        if is_upgrade_to(bytes(self._head[:end]), self._media_path):
            assert self._transport is not None
            self._undecided.discard(self)
            self._websocket().adopt(self._transport, bytes(self._head))
        else:
            self._to_http()

    def eof_received(self) -> bool | None:
        # Half a request then EOF: Hypercorn answers or closes it as it would have anyway.
        self._eof = True
        self._to_http()
        return True

    def _to_http(self) -> None:
        transport = self._transport
        assert transport is not None
        self._undecided.discard(self)
        reader = asyncio.StreamReader(limit=2**16)
        protocol = asyncio.StreamReaderProtocol(reader, self._http)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self._head:
            protocol.data_received(bytes(self._head))
        if self._eof:
            protocol.eof_received()
