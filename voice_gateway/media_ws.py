"""The Media Streams WebSocket: the handshake Twilio expects, then the frame loop that drives a mode.

Handshake rules (each one is a Twilio error 31920 when broken): answer 101 on this exact path, echo the
`audio.twilio.com` subprotocol only when the client offered it, and never require an Origin header.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from quart import Quart, Response, websocket

from voice_gateway import metrics
from voice_gateway.media_streams import BadFrame, MediaStreamServer, ProtocolViolation, Start, Stop
from voice_gateway.public_url import public_base_url, websocket_url
from voice_gateway.settings import Settings, WsMode
from voice_gateway.stream_modes import EchoMode, Send, SinkMode, StreamMode
from voice_gateway.twilio_auth import TwilioSignatures, call_token_matches
from voice_gateway.twiml import STREAM_PATH

log = logging.getLogger("voice_gateway.ws")

TWILIO_SUBPROTOCOL = "audio.twilio.com"

Close = Callable[[int, str], Awaitable[None]]
# Builds the AI mode for one stream; the call bridge registers itself here.
ModeFactory = Callable[[MediaStreamServer, Send, Close], StreamMode]


def register_media_stream(app: Quart, settings: Settings, ai_mode: ModeFactory | None = None) -> None:
    signatures = TwilioSignatures(settings.twilio_auth_token) if settings.twilio_auth_token else None

    def build_mode(stream: MediaStreamServer, send: Send, close: Close) -> StreamMode:
        if settings.ws_mode is WsMode.SINK:
            return SinkMode()
        if settings.ws_mode is WsMode.ECHO:
            return EchoMode(stream, send, settings.echo_mark_interval_ms)
        if ai_mode is None:
            raise RuntimeError("WS_MODE=AI but no call bridge is installed")
        return ai_mode(stream, send, close)

    @app.websocket(STREAM_PATH)
    async def media_stream() -> Response | None:
        if signatures is not None:
            base = public_base_url(settings.public_base_url, websocket.headers, websocket.scheme)
            problem = signatures.problem(websocket_url(base, STREAM_PATH), {}, websocket.headers)
            if problem is not None:
                metrics.SIGNATURE_FAILURES.labels("ws").inc()
                log.warning("WS_REJECTED reason=%s", problem)
                return Response(problem + "\n", status=403, content_type="text/plain")
        offered = TWILIO_SUBPROTOCOL in websocket.requested_subprotocols
        await websocket.accept(subprotocol=TWILIO_SUBPROTOCOL if offered else None)
        metrics.WS_CONNECTIONS.labels(settings.ws_mode.value, TWILIO_SUBPROTOCOL if offered else "none").inc()
        log.info(
            "WS_CONNECTED mode=%s subprotocol=%s",
            settings.ws_mode.value,
            TWILIO_SUBPROTOCOL if offered else "none",
        )
        await _serve_stream(settings, build_mode)
        return None


async def _serve_stream(
    settings: Settings, build_mode: Callable[[MediaStreamServer, Send, Close], StreamMode]
) -> None:
    stream = MediaStreamServer(settings.max_ws_frame_bytes)

    async def send(frame: str) -> None:
        await websocket.send(frame)
        metrics.WS_FRAMES.labels("tx").inc()

    closed_by_us: list[str] = []

    async def close(code: int, reason: str) -> None:
        closed_by_us.append(reason)
        await websocket.close(code, reason)

    mode = build_mode(stream, send, close)
    metrics.WS_ACTIVE.inc()
    outcome = "closed"
    try:
        while not closed_by_us:
            frame = await websocket.receive()
            metrics.WS_FRAMES.labels("rx").inc()
            try:
                event = stream.receive(frame)
            except ProtocolViolation as violation:
                outcome = "protocol_error"
                await _refuse(stream, violation, close)
                break
            if isinstance(event, BadFrame):
                metrics.WS_BAD_FRAMES.labels(event.kind.value).inc()
                if event.first_of_kind:
                    log.warning(
                        "WS_BAD_FRAME sid=%s kind=%s detail=%s",
                        stream.stream_sid,
                        event.kind.value,
                        event.detail,
                    )
                continue
            if isinstance(event, Start):
                log.info("WS_START sid=%s call=%s", event.stream_sid, event.call_sid)
                if settings.auth_enabled and not call_token_matches(
                    settings.call_token_secret, event.call_sid, event.custom_parameters.get("StreamToken", "")
                ):
                    outcome = "protocol_error"
                    await _refuse(
                        stream,
                        ProtocolViolation(
                            "bad_call_token", "start.customParameters.StreamToken does not match the CallSid"
                        ),
                        close,
                    )
                    break
            await mode.on_event(event)
            if isinstance(event, Stop):
                outcome = "stopped"
                _log_end("WS_STOP", stream)
                break
    finally:
        metrics.WS_ACTIVE.dec()
        metrics.WS_GAPS.inc(stream.stats.chunk_gaps)
        metrics.CALLS.labels(outcome).inc()
        if outcome != "stopped":
            _log_end("WS_CLOSED", stream)
        # Quart cancels this handler when the caller's socket goes away; the mode's cleanup (telling
        # the agent the call ended) must still run to the end.
        await asyncio.shield(asyncio.ensure_future(mode.aclose()))


async def _refuse(stream: MediaStreamServer, violation: ProtocolViolation, close: Close) -> None:
    metrics.WS_PROTOCOL_VIOLATIONS.labels(violation.kind).inc()
    log.warning(
        "WS_PROTOCOL_ERROR sid=%s kind=%s reason=%s", stream.stream_sid, violation.kind, violation.reason
    )
    await close(ProtocolViolation.close_code, violation.reason)


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
