"""An ASGI WebSocket connection on `websockets`' sans-IO protocol, for the Media Streams path only.

Hypercorn's WebSocket path (wsproto, h11, a task group and a send lock per connection) made the gateway
cost 2.3× the CPU of a bare `websockets` echo per frame. This speaks the same ASGI WebSocket messages to
the same endpoint (`calls.endpoint`), so the handshake rules live in one place, but frames are parsed by
`websockets` (its C mask/unmask) and go to the app without a task hop. `server.listener` decides, per
connection, whether a request comes here or goes to Hypercorn.
"""

from __future__ import annotations

import asyncio
import collections
import http
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, cast
from urllib.parse import unquote

from websockets.datastructures import Headers
from websockets.exceptions import InvalidState
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import BytesLike, Subprotocol

from voice_gateway import metrics

log = logging.getLogger("voice_gateway.ws")

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Inbound messages buffered for a busy app before the socket stops being read (TCP then pushes back).
_INBOX_HIGH = 64
# After our close frame, how long the peer gets to close the TCP connection before it is cut.
_CLOSE_TIMEOUT_S = 10.0


class AsgiWebSocket(asyncio.Protocol):
    """One connection, from the upgrade request's first bytes to the TCP close."""

    def __init__(
        self,
        app: AsgiApp,
        max_size: int,
        server: tuple[str, int] | None,
        tasks: set[asyncio.Task[None]] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._app = app
        self._server = server
        # The server's set of connection tasks, which graceful shutdown waits for.
        self._tasks = tasks
        self._on_lost = on_lost  # gives the connection's place back to the listener's admission
        self._chosen: Subprotocol | None = None

        def select(_ws: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
            # The endpoint already chose (it echoes audio.twilio.com only when offered); honour that.
            return self._chosen if self._chosen in offered else None

        self._ws = ServerProtocol(select_subprotocol=select, max_size=max_size)
        self._transport: asyncio.Transport | None = None
        self._request: Request | None = None
        self._inbox: collections.deque[Message] = collections.deque()
        self._waiter: asyncio.Future[Message] | None = None
        self._reading_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._fragments: list[bytes] = []
        self._fragment_text = False
        self._disconnected = False
        self._response_start: Message | None = None
        self._response_body = bytearray()
        self._close_timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def adopt(self, transport: asyncio.Transport, head: bytes) -> None:
        """Take over a connection whose first bytes (the request head, maybe more) were already read."""
        self._transport = transport
        transport.set_protocol(self)
        self.data_received(head)

    def data_received(self, data: bytes) -> None:
        self._ws.receive_data(data)
        self._handle_events()

    def eof_received(self) -> bool | None:
        self._ws.receive_eof()
        self._handle_events()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._disconnect(1006)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if self._on_lost is not None:
            self._on_lost()

    def pause_writing(self) -> None:
        if self._drained is None or self._drained.done():
            self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- frames in ----------------------------------------------------------------------------------

    def _handle_events(self) -> None:
        for event in self._ws.events_received():
            if isinstance(event, Request):
                self._start(event)
                continue
            if not isinstance(event, Frame):
                continue  # a server never receives a Response
            opcode = event.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                if event.fin:
                    if not self._push_data(event.data, opcode is Opcode.TEXT):
                        break
                else:
                    self._fragments, self._fragment_text = [bytes(event.data)], opcode is Opcode.TEXT
            elif opcode is Opcode.CONT:
                self._fragments.append(bytes(event.data))
                if event.fin:
                    data, self._fragments = b"".join(self._fragments), []
                    if not self._push_data(data, self._fragment_text):
                        break
            elif opcode is Opcode.CLOSE:
                received = self._ws.close_rcvd
                self._disconnect(received.code if received is not None else 1005)
        self._flush()

    def _push_data(self, data: BytesLike, text: bool) -> bool:
        """Hand a whole message to the app; False when it failed the connection (RFC 6455 8.1)."""
        if not text:
            self._push({"type": "websocket.receive", "bytes": bytes(data)})
            return True
        try:
            decoded = bytes(data).decode()
        except UnicodeDecodeError:
            metrics.WS_BAD_FRAMES.labels("invalid_utf8").inc()
            log.info("WS_CLOSED_INVALID_UTF8 code=1007")
            self._ws.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
            self._disconnect(CloseCode.INVALID_DATA)
            return False
        self._push({"type": "websocket.receive", "text": decoded})
        return True

    def _start(self, request: Request) -> None:
        self._request = request
        transport = self._transport
        assert transport is not None
        path, _, query = request.path.partition("?")
        peer = transport.get_extra_info("peername")
        offered = [
            p.strip() for value in request.headers.get_all("Sec-WebSocket-Protocol") for p in value.split(",")
        ]
        scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.raw_items()
            ],
            "client": (peer[0], peer[1]) if peer else None,
            "server": self._server,
            "subprotocols": [p for p in offered if p],
            "extensions": {"websocket.http.response": {}},
            "state": {},
        }
        self._push({"type": "websocket.connect"})
        self._task = asyncio.get_running_loop().create_task(self._run(scope))
        if self._tasks is not None:
            self._tasks.add(self._task)
            self._task.add_done_callback(self._tasks.discard)

    async def _run(self, scope: Scope) -> None:
        try:
            await self._app(scope, self.receive, self.send)
        except Exception:
            log.exception("WS_APP_FAILED path=%s", scope["path"])
            await self._close(1011, "internal error")
            return
        await self._close(1000, "")

    def _push(self, message: Message) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(message)
            return
        self._inbox.append(message)
        if len(self._inbox) >= _INBOX_HIGH and not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()

    def _disconnect(self, code: int) -> None:
        if not self._disconnected:
            self._disconnected = True
            self._push({"type": "websocket.disconnect", "code": code})

    # -- the ASGI side ------------------------------------------------------------------------------

    async def receive(self) -> Message:
        if self._inbox:
            message = self._inbox.popleft()
            if self._reading_paused and len(self._inbox) < _INBOX_HIGH // 2 and self._transport is not None:
                self._reading_paused = False
                self._transport.resume_reading()
            return message
        if self._disconnected:
            return {"type": "websocket.disconnect", "code": 1006}
        self._waiter = asyncio.get_running_loop().create_future()
        return await self._waiter

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            if self._ws.state is not self._ws.state.OPEN:
                return  # the peer is gone or closing; the app learns it from receive()
            text = message.get("text")
            if text is not None:
                self._ws.send_text(text.encode())
            else:
                self._ws.send_binary(message.get("bytes") or b"")
            self._flush()
            if self._drained is not None and not self._drained.done():
                await self._drained  # this connection's peer reads slowly; others are not held up
        elif kind == "websocket.accept":
            self._accept(message)
        elif kind == "websocket.close":
            await self._close(int(message.get("code", 1000)), str(message.get("reason") or ""))
        elif kind == "websocket.http.response.start":
            self._response_start = message
        elif kind == "websocket.http.response.body":
            self._response_body += message.get("body", b"")
            if not message.get("more_body", False):
                self._respond_http()
        else:
            raise ValueError(f"unexpected ASGI message {kind!r}")

    def _accept(self, message: Message) -> None:
        assert self._request is not None
        if self._ws.eof_sent or self._ws.state is not self._ws.state.CONNECTING:
            return  # the client left or broke the protocol before the answer; receive() tells the app
        self._chosen = cast(Subprotocol | None, message.get("subprotocol"))
        response = self._ws.accept(self._request)
        for name, value in message.get("headers") or []:
            response.headers[name.decode("latin-1")] = value.decode("latin-1")
        self._ws.send_response(response)
        self._flush()
        if response.status_code != http.HTTPStatus.SWITCHING_PROTOCOLS:
            log.info("WS_HANDSHAKE_REFUSED status=%d", response.status_code)
            self._disconnect(1006)

    def _respond_http(self) -> None:
        if self._ws.eof_sent:
            # Answered already (the app refused, then returned: its close runs twice), or the client
            # closed or broke the protocol before the answer: the connection is over either way.
            return
        start = self._response_start or {"status": 500, "headers": []}
        status = http.HTTPStatus(int(start["status"]))
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])])
        headers["Content-Length"] = str(len(self._response_body))
        headers["Connection"] = "close"
        self._ws.send_response(Response(status.value, status.phrase, headers, bytes(self._response_body)))
        self._flush()
        self._disconnect(1006)

    async def _close(self, code: int, reason: str) -> None:
        state = self._ws.state
        if state is state.CONNECTING:
            # ASGI: closing before accepting refuses the handshake with 403.
            self._response_start = {"status": 403, "headers": [(b"content-type", b"text/plain")]}
            self._response_body = bytearray(reason.encode() + b"\n")
            self._respond_http()
            return
        if state is state.OPEN:
            try:
                self._ws.send_close(code, reason)
            except InvalidState:
                return
            self._flush()
            if self._transport is not None and self._close_timer is None:
                loop = asyncio.get_running_loop()
                self._close_timer = loop.call_later(_CLOSE_TIMEOUT_S, self._transport.abort)

    def _flush(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        for data in self._ws.data_to_send():
            if data:
                transport.write(data)
            else:  # websockets' SEND_EOF: the handshake or the close is over; end the TCP connection
                transport.close()
                return
