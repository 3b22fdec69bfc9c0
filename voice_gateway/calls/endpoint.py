"""The Media Streams WebSocket: the handshake Twilio expects, then the frame loop that drives a mode.

Handshake rules (each one is a Twilio error 31920 when broken): answer 101 on this exact path, echo the
`audio.twilio.com` subprotocol only when the client offered it, and never require an Origin header.

This endpoint is plain ASGI: Quart's WebSocket wrapper adds a queue hop and a task switch to every frame,
which at 50 frames a second per call is most of what a call costs. `python -m voice_gateway` serves it
through `server.asgi_websocket` (WS_SERVER=websockets); `app.py` also mounts it ahead of the Quart app,
so Hypercorn alone (WS_SERVER=hypercorn, or any ASGI server) serves it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Iterator

from agentlocator_common import logs
from voice_gateway import metrics
from voice_gateway.calls.limits import CallCap, CallLines, Refusal
from voice_gateway.calls.modes import CHANNEL_PARAMETER, EchoMode, Send, SinkMode, StreamMode
from voice_gateway.calls.open_streams import OpenStreams
from voice_gateway.limits.http_guard import SIGNATURE_BLOCK_TEXT, AbuseGuard
from voice_gateway.server.asgi_websocket import Receive, Scope
from voice_gateway.server.asgi_websocket import Send as AsgiSend
from voice_gateway.settings import Settings, WsMode
from voice_gateway.twilio.media_streams import BadFrame, MediaStreamServer, ProtocolViolation, Start, Stop
from voice_gateway.twilio.public_url import public_base_url, websocket_url
from voice_gateway.twilio.signatures import TwilioSignatures, call_token_problem
from voice_gateway.twilio.twiml import STREAM_PATH

log = logging.getLogger("voice_gateway.ws")

TWILIO_SUBPROTOCOL = "audio.twilio.com"
# The console's calls (console/talk.py): the page picks the CallSid, so it can watch the call's live feed.
BROWSER_CALL_SID = re.compile(r"BR[0-9a-f]{32}")

Close = Callable[[int, str], Awaitable[None]]
# Builds the AI mode for one stream; the call bridge registers itself here.
ModeFactory = Callable[[MediaStreamServer, Send, Close], StreamMode]

_RX = metrics.WS_FRAMES.labels("rx")
_TX = metrics.WS_FRAMES.labels("tx")


class _Headers:
    """Case-insensitive lookup over the ASGI scope's raw header pairs."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._values = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}

    def get(self, key: str) -> str | None:
        return self._values.get(key.lower())


class MediaStreamEndpoint:
    def __init__(
        self,
        settings: Settings,
        ai_mode: ModeFactory | None,
        guard: AbuseGuard | None = None,
        call_cap: CallLines | None = None,
    ) -> None:
        self.settings = settings
        self.ai_mode = ai_mode
        self.guard = guard
        self.signatures = TwilioSignatures(settings.twilio_auth_token) if settings.twilio_auth_token else None
        # Started streams not yet finished: the active calls that MAX_CONCURRENT_CALLS caps.
        self.call_cap: CallLines = call_cap or CallCap(settings.max_concurrent_calls)
        self.open = OpenStreams()  # for the drain on SIGTERM (server/drain.py)

    def build_mode(self, stream: MediaStreamServer, send: Send, close: Close) -> StreamMode:
        if self.settings.ws_mode is WsMode.SINK:
            return SinkMode()
        if self.settings.ws_mode is WsMode.ECHO:
            return EchoMode(stream, send, self.settings.echo_mark_interval_ms)
        if self.ai_mode is None:
            raise RuntimeError("WS_MODE=AI but no call bridge is installed")
        return self.ai_mode(stream, send, close)

    async def __call__(self, scope: Scope, receive: Receive, send: AsgiSend) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        headers = _Headers(scope.get("headers", []))
        if self.signatures is not None:
            # The upgrade shares the webhooks' penalty box for addresses that keep failing signatures.
            client = scope.get("client")
            address = client[0] if client else "unknown"
            if self.guard is not None:
                address = self.guard.address_of(client[0] if client else None, headers.get("x-forwarded-for"))
                blocked = await self.guard.signature_block(address, STREAM_PATH)
                if not blocked.allowed:
                    retry = [(b"retry-after", blocked.retry_after_header.encode())]
                    await _refuse_upgrade(scope, send, 429, SIGNATURE_BLOCK_TEXT, retry)
                    return
            base = public_base_url(self.settings.public_base_url, headers, scope.get("scheme", "ws"))
            problem = self.signatures.problem(websocket_url(base, STREAM_PATH), {}, headers)
            if problem is not None:
                metrics.SIGNATURE_FAILURES.labels("ws").inc()
                log.warning("WS_REJECTED reason=%s", problem)
                if self.guard is not None:
                    await self.guard.signature_failed(address)
                await _refuse_upgrade(scope, send, 403, problem)
                return
        await self.accept(scope, receive, send, browser=False)

    async def accept(self, scope: Scope, receive: Receive, send: AsgiSend, *, browser: bool) -> None:
        """Accept an upgrade already vouched for and run the call; `browser`: the console's own call
        (console/talk.py checked its session), which carries no StreamToken and must use a BR… CallSid."""
        if self.call_cap.draining:  # refused before the handshake: the load balancer picks another gateway
            return await _refuse_upgrade(scope, send, 503, "this gateway is shutting down")
        offered = TWILIO_SUBPROTOCOL in scope.get("subprotocols", [])
        subprotocol = TWILIO_SUBPROTOCOL if offered else None
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        label = "browser" if browser else subprotocol or "none"
        metrics.WS_CONNECTIONS.labels(self.settings.ws_mode.value, label).inc()
        log.info("WS_CONNECTED mode=%s subprotocol=%s", self.settings.ws_mode.value, label)
        session = _StreamSession(self, receive, send, browser)
        with self.open.holding(session):
            await session.run()


class _StreamSession:
    """One accepted stream: the frame loop, the mode it drives, and its end-of-call accounting."""

    def __init__(
        self, endpoint: MediaStreamEndpoint, receive: Receive, send: AsgiSend, browser: bool = False
    ) -> None:
        self.settings = endpoint.settings
        self.browser = browser
        self.endpoint = endpoint
        self.stream = MediaStreamServer(self.settings.max_ws_frame_bytes)
        self._receive = receive
        self._send = send
        self._closed: str | None = None
        # The CallSid whose line this stream holds, from its accepted `start` on.
        self._line: str | None = None
        self.mode = endpoint.build_mode(self.stream, self.send, self.close)

    @property
    def call_sid(self) -> str | None:
        """The call whose line this stream holds, once its `start` was accepted."""
        return self._line

    async def send(self, frame: str) -> None:
        if self._closed is None:
            await self._send({"type": "websocket.send", "text": frame})
            _TX.inc()

    async def close(self, code: int, reason: str) -> None:
        if self._closed is None:
            self._closed = reason
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def run(self) -> None:
        metrics.WS_ACTIVE.inc()
        outcome = "closed"
        try:
            outcome = await self._loop()
        finally:
            await self._finish(outcome)

    async def _finish(self, outcome: str) -> None:
        """Each step runs whatever the ones before it did: one that raises is logged and counted."""
        with _step("release_line"):
            # Freed before the socket closes, so a caller who saw the close finds the line free.
            if self._line is not None:
                self.endpoint.call_cap.release(self._line)
        with _step("ws_active"):
            metrics.WS_ACTIVE.dec()
        with _step("gaps"):
            metrics.WS_GAPS.inc(self.stream.stats.chunk_gaps)
        with _step("outcome"):
            metrics.CALLS.labels(outcome).inc()
        with _step("log"):
            if outcome != "stopped":
                _log_end("WS_CLOSED", self.stream)
        cancelled: asyncio.CancelledError | None = None
        with _step("mode"):
            try:
                # The mode's cleanup (telling the agent the call ended) finishes even if we are cancelled.
                await asyncio.shield(asyncio.ensure_future(self.mode.aclose()))
            except asyncio.CancelledError as exc:
                cancelled = exc
        with _step("socket"):
            # Returning with the socket open would make Hypercorn close it with 1011 (internal error).
            await self.close(1000, "")
        if cancelled is not None:
            raise cancelled

    async def _loop(self) -> str:
        deadline = asyncio.get_running_loop().time() + self.settings.ws_start_timeout_s
        while self._closed is None:
            if self.stream.start is None:
                # Twilio sends `start` at once; a socket without one would hold a connection for nothing.
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await self._receive()
                except TimeoutError:
                    reason = f"no start event within WS_START_TIMEOUT_S={self.settings.ws_start_timeout_s:g}s"
                    await self._refuse(ProtocolViolation("start_timeout", reason))
                    return "protocol_error"
            else:
                message = await self._receive()
            if message["type"] != "websocket.receive":
                self._closed = "disconnected"
                return "closed"
            _RX.inc()
            text = message.get("text")
            frame = text if text is not None else message.get("bytes") or b""
            try:
                event = self.stream.receive(frame)
            except ProtocolViolation as violation:
                await self._refuse(violation)
                return "protocol_error"
            if isinstance(event, BadFrame):
                metrics.WS_BAD_FRAMES.labels(event.kind.value).inc()
                if event.first_of_kind:
                    log.warning(
                        "WS_BAD_FRAME sid=%s kind=%s detail=%s",
                        self.stream.stream_sid,
                        event.kind.value,
                        event.detail,
                    )
                continue
            if isinstance(event, Start):
                event = self._vouched(event)
                logs.bind_call(event.call_sid, event.stream_sid)
                log.info("WS_START sid=%s call=%s", event.stream_sid, event.call_sid)
                if (refused := await self._admit(event)) is not None:
                    await self._refuse(refused)
                    return "protocol_error"
            await self.mode.on_event(event)
            if isinstance(event, Stop):
                _log_end("WS_STOP", self.stream)
                return "stopped"
        return "closed"

    def _vouched(self, start: Start) -> Start:
        """Only the gateway says which channel a call came in on: whatever the client sent is replaced."""
        params = {k: v for k, v in start.custom_parameters.items() if k != CHANNEL_PARAMETER}
        if self.browser:
            # A browser call has no caller ID, token or TwiML parameters: nothing the page sends is kept.
            params = {CHANNEL_PARAMETER: "browser"}
        return dataclasses.replace(start, custom_parameters=params)

    async def _admit(self, start: Start) -> ProtocolViolation | None:
        """The call's own token (with Twilio auth on), then a line for the call. Two streams for one
        CallSid cannot both get it: `CallCap` takes it without suspending, and the shared lines under a
        PostgreSQL lock."""
        if self.browser:
            if BROWSER_CALL_SID.fullmatch(start.call_sid) is None:
                return ProtocolViolation("bad_call_sid", "a browser call's callSid is BR and 32 hex digits")
        elif self.settings.auth_enabled:
            token = start.custom_parameters.get("StreamToken", "")
            secret, ttl = self.settings.call_token_secret, self.settings.call_token_ttl_s
            if (problem := call_token_problem(secret, start.call_sid, token, ttl)) is not None:
                return ProtocolViolation("bad_call_token", problem)
        refused = await self.endpoint.call_cap.take(start.call_sid, start.custom_parameters.get("From", ""))
        if refused is Refusal.DUPLICATE:
            return ProtocolViolation(refused.value, f"another stream is live for CallSid {start.call_sid}")
        if refused is Refusal.OVER_CAPACITY:
            live = self.endpoint.call_cap.open_streams
            return ProtocolViolation(
                refused.value, f"{live} streams are live here, past MAX_CONCURRENT_CALLS"
            )
        self._line = start.call_sid
        return None

    async def _refuse(self, violation: ProtocolViolation) -> None:
        metrics.WS_PROTOCOL_VIOLATIONS.labels(violation.kind).inc()
        log.warning(
            "WS_PROTOCOL_ERROR sid=%s kind=%s reason=%s",
            self.stream.stream_sid,
            violation.kind,
            violation.reason,
        )
        await self.close(ProtocolViolation.close_code, violation.reason)


async def _refuse_upgrade(
    scope: Scope, send: AsgiSend, status: int, reason: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer the upgrade with a plain HTTP error where the server allows it (Hypercorn does)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(b"content-type", b"text/plain"), *(extra or [])]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": (reason + "\n").encode()})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": reason})


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    try:
        yield
    except Exception:
        log.exception("WS_CLEANUP_FAILED step=%s", name)
        metrics.WS_CLEANUP_FAILURES.labels(name).inc()


def _log_end(label: str, stream: MediaStreamServer) -> None:
    stats = stream.stats
    log.info(
        "%s sid=%s frames=%d rx=%d tx=%d gaps=%d bad=%d marks=%d/%d",
        label,
        stream.stream_sid,
        stats.frames,
        stats.rx_media,
        stats.tx_media,
        stats.chunk_gaps,
        stats.bad,
        stats.marks_echoed,
        stats.marks_sent,
    )
