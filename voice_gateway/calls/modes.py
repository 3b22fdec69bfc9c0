"""What the gateway does with a started stream: SINK consumes, ECHO plays the caller back to themselves.

A mode is a small object fed the stream's events in order; it replies through the `send` callback with
frames built by the stream's sans-IO `MediaStreamServer`. The AI mode (the call bridge) follows the
same shape but also owns a gRPC call, so it lives in its own module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from voice_gateway.twilio.media_streams import (
    Connected,
    Dtmf,
    MarkEcho,
    Media,
    MediaStreamServer,
    Start,
    Stop,
)
from voice_gateway.twilio.media_streams.events import MULAW_BYTES_PER_MS

StreamEvent = Connected | Start | Media | Dtmf | MarkEcho | Stop
# A start's custom parameter only the gateway sets (calls/endpoint.py): "browser" for the console's calls.
CHANNEL_PARAMETER = "AgentLocatorChannel"
Send = Callable[[str], Awaitable[None]]


class StreamMode(Protocol):
    async def on_event(self, event: StreamEvent) -> None: ...

    async def aclose(self) -> None: ...


class SinkMode:
    """Consume and count; never send. Useful to prove Twilio's side of a deployment in isolation."""

    async def on_event(self, event: StreamEvent) -> None:
        return None

    async def aclose(self) -> None:
        return None


class EchoMode:
    """Clear Twilio's buffer, then send every inbound payload back, with a mark after each interval."""

    def __init__(self, stream: MediaStreamServer, send: Send, mark_interval_ms: int = 1000) -> None:
        self._stream = stream
        self._send = send
        self._mark_every_bytes = mark_interval_ms * MULAW_BYTES_PER_MS
        self._since_mark = 0
        self._marks = 0

    async def on_event(self, event: StreamEvent) -> None:
        if isinstance(event, Start):
            # Nothing is buffered yet, but a clear first makes ECHO exercise every outbound message kind.
            await self._send(self._stream.clear())
        elif isinstance(event, Media):
            await self._send(self._stream.media(event.payload))
            self._since_mark += len(event.payload)
            if self._since_mark >= self._mark_every_bytes:
                self._since_mark = 0
                self._marks += 1
                await self._send(self._stream.mark(f"echo-{self._marks}"))

    async def aclose(self) -> None:
        return None
