"""The gateway's listening socket: admits each connection, then its first request decides who serves it.

On arrival a connection must fit the caps (`admission`), or it is answered 503 and closed before a byte is
read. A WebSocket upgrade on the Media Streams path goes to `server.asgi_websocket` (frames parsed by
`websockets`); everything else — every HTTP route, and any other upgrade — is handed to Hypercorn with
the bytes already read. The decision is made once per connection, on the request line and headers only,
and the request head must be whole within `header_timeout_s` of the connection's arrival.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from voice_gateway.server.admission import Admission, Ticket
from voice_gateway.server.asgi_websocket import AsgiWebSocket

# A request head longer than this is not a Media Streams upgrade; Hypercorn answers it (431/400).
MAX_HEAD_BYTES = 16 * 1024
# Only a GET can be an upgrade: anything else is handed over after this many bytes, without waiting.
_GET = b"GET "
# Written to a connection past a cap: it has sent nothing yet, so this is all it will read.
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections"
)

# Called with the connection's streams, the loop time its first request head must be whole by, and a
# note for timeouts; it starts (and keeps track of) the task that serves them.
HttpHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, float, Callable[[str], None]], None]
# Called with what to run when the connection is lost (the admission ticket's release).
WebSocketFactory = Callable[[Callable[[], None]], AsgiWebSocket]


@dataclass(slots=True)
class Doors:
    """What every connection on one listening socket shares."""

    media_path: str | None  # None: every request goes to Hypercorn (WS_SERVER=hypercorn)
    websocket: WebSocketFactory
    http: HttpHandler
    admission: Admission
    header_timeout_s: float
    # Connections still reading their first request head (graceful shutdown closes them).
    undecided: set[Listener] = field(default_factory=set)


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


class _HttpProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol that also gives the connection's place back when it is lost."""

    def __init__(self, reader: asyncio.StreamReader, connected: Callable[..., None], ticket: Ticket) -> None:
        super().__init__(reader, connected)
        self._ticket = ticket

    def connection_lost(self, exc: Exception | None) -> None:
        self._ticket.release()
        super().connection_lost(exc)


class Listener(asyncio.Protocol):
    def __init__(self, doors: Doors) -> None:
        self._doors = doors
        self._transport: asyncio.Transport | None = None
        self._ticket: Ticket | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._head = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport implements asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self._ticket = self._doors.admission.admit(str(peer[0]) if peer else "unknown")
        if self._ticket is None:
            self._transport.write(_BUSY)
            self._transport.close()
            return
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self._doors.header_timeout_s
        self._timer = loop.call_at(self._deadline, self._head_timed_out)
        self._doors.undecided.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._decided()
        if self._ticket is not None:
            self._ticket.release()

    def close(self) -> None:
        """Drop a connection that has not sent a whole request yet (graceful shutdown)."""
        self._decided()
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._head += data
        media_path = self._doors.media_path
        if (
            media_path is None
            or not self._head.startswith(_GET[: len(self._head)])
            or len(self._head) > MAX_HEAD_BYTES
        ):
            self._to_http()
            return
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            return
        if is_upgrade_to(bytes(self._head[:end]), media_path):
            assert self._transport is not None and self._ticket is not None
            self._decided()
            self._doors.websocket(self._ticket.release).adopt(self._transport, bytes(self._head))
        else:
            self._to_http()

    def eof_received(self) -> bool | None:
        # Before a whole request head there is nothing to answer: close now, not after a timeout
        # (a socket left in CLOSE-WAIT holds a file descriptor).
        self.close()
        return False

    def _head_timed_out(self) -> None:
        self._timer = None
        if self._ticket is not None:
            self._doors.admission.note_timeout("head", self._ticket.client)
        self.close()

    def _decided(self) -> None:
        self._doors.undecided.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _to_http(self) -> None:
        transport, ticket = self._transport, self._ticket
        assert transport is not None and ticket is not None
        self._decided()
        deadline, doors = self._deadline, self._doors

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            doors.http(
                reader, writer, deadline, lambda phase: doors.admission.note_timeout(phase, ticket.client)
            )

        reader = asyncio.StreamReader(limit=2**16)
        protocol = _HttpProtocol(reader, connected, ticket)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self._head:
            protocol.data_received(bytes(self._head))
