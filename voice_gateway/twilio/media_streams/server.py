"""The gateway's side of one Media Stream: parse Twilio's frames, track the stream, build our replies."""

from __future__ import annotations

import base64
import binascii
import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from voice_gateway.twilio.media_streams.events import (
    BadFrame,
    BadFrameKind,
    Connected,
    Dtmf,
    InboundEvent,
    MarkEcho,
    Media,
    ProtocolViolation,
    Start,
    Stop,
)

# Twilio's counters (sequenceNumber, chunk, timestamp in ms) stay far below this in a 4-hour call, the
# longest Twilio allows; anything larger is not Twilio, and would make gap counts overflow a float.
MAX_COUNTER = 2**31 - 1
_MAX_COUNTER_DIGITS = len(str(MAX_COUNTER))
MAX_SID_CHARS = 64


class StreamPhase(enum.Enum):
    NEW = "new"
    CONNECTED = "connected"
    STARTED = "started"
    STOPPED = "stopped"


@dataclass(slots=True)
class StreamStats:
    frames: int = 0
    rx_media: int = 0
    rx_bytes: int = 0
    tx_media: int = 0
    tx_bytes: int = 0
    marks_sent: int = 0
    marks_echoed: int = 0
    clears_sent: int = 0
    bad: int = 0
    bad_by_kind: Counter[str] = field(default_factory=Counter)
    sequence_gaps: int = 0
    chunk_gaps: int = 0
    out_of_order: int = 0


class MediaStreamServer:
    """Turns inbound text frames into events and outbound events into text frames for one stream.

    Bad frames come back as `BadFrame` events (the stream goes on); breaches of the stream's contract,
    a second `start` or a frame for another stream, raise `ProtocolViolation`.
    """

    def __init__(self, max_frame_bytes: int = 64 * 1024) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.phase = StreamPhase.NEW
        self.stats = StreamStats()
        self.start: Start | None = None
        self._next_sequence: int | None = None
        self._next_chunk: int | None = None

    @property
    def stream_sid(self) -> str | None:
        return self.start.stream_sid if self.start else None

    # -- inbound ---------------------------------------------------------------------------------

    def receive(self, frame: str | bytes) -> InboundEvent:
        self.stats.frames += 1
        if isinstance(frame, bytes):
            return self._bad(BadFrameKind.BINARY, f"{len(frame)}-byte binary frame; Twilio sends JSON text")
        # The limit is in bytes, as on the wire: a character is up to 4 of them ('€' is 3). An ASCII
        # frame (every real Twilio frame) is one byte a character, and isascii() costs nothing.
        size = len(frame) if frame.isascii() else len(frame.encode("utf-8", "surrogatepass"))
        if size > self.max_frame_bytes:
            return self._bad(BadFrameKind.OVERSIZED, f"{size} bytes > limit {self.max_frame_bytes}")
        try:
            message = orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            return self._bad(BadFrameKind.NOT_JSON, str(exc))
        if not isinstance(message, dict):
            return self._bad(BadFrameKind.NOT_JSON, "frame is JSON but not an object")
        try:
            return self._dispatch(message)
        except _FieldError as exc:
            return self._bad(exc.kind, str(exc))

    def _dispatch(self, message: dict[str, Any]) -> InboundEvent:
        event = message.get("event")
        if not isinstance(event, str):
            return self._bad(BadFrameKind.UNKNOWN_EVENT, f"event is {type(event).__name__}, not a string")
        if event == "connected":
            return self._on_connected(message)
        if event == "start":
            return self._on_start(message)
        if event not in {"media", "dtmf", "mark", "stop"}:
            return self._bad(BadFrameKind.UNKNOWN_EVENT, f"event={event!r}")
        if self.phase is StreamPhase.STOPPED:
            return self._bad(BadFrameKind.AFTER_STOP, f"{event} after stop")
        if self.start is None:
            return self._bad(BadFrameKind.BEFORE_START, f"{event} before start")
        sid = message.get("streamSid")
        if sid is None:
            raise _FieldError(BadFrameKind.MISSING_FIELD, f"{event} has no streamSid")
        if sid != self.start.stream_sid:
            raise ProtocolViolation("wrong_stream_sid", f"streamSid {sid!r} does not match this stream")
        sequence = self._track_sequence(message)
        if event == "media":
            return self._on_media(message, sequence)
        if event == "dtmf":
            body = _object(message, "dtmf")
            return Dtmf(sequence, _text(body, "digit", "dtmf"), str(body.get("track", "inbound_track")))
        if event == "mark":
            self.stats.marks_echoed += 1
            return MarkEcho(sequence, _text(_object(message, "mark"), "name", "mark"))
        body = _object(message, "stop")
        self.phase = StreamPhase.STOPPED
        return Stop(sequence, str(body.get("callSid", "")), str(body.get("accountSid", "")))

    def _on_connected(self, message: dict[str, Any]) -> InboundEvent:
        if self.phase is not StreamPhase.NEW:
            return self._bad(BadFrameKind.UNEXPECTED, f"connected while {self.phase.value}")
        self.phase = StreamPhase.CONNECTED
        return Connected(str(message.get("protocol", "")), str(message.get("version", "")))

    def _on_start(self, message: dict[str, Any]) -> InboundEvent:
        if self.start is not None:
            raise ProtocolViolation("second_start", "second start on one stream")
        body = _object(message, "start")
        media_format = body.get("mediaFormat") or {}
        if not isinstance(media_format, dict):
            raise _FieldError(BadFrameKind.BAD_FIELD, "start.mediaFormat is not an object")
        params = body.get("customParameters") or {}
        if not isinstance(params, dict):
            raise _FieldError(BadFrameKind.BAD_FIELD, "start.customParameters is not an object")
        tracks = body.get("tracks") or ["inbound"]
        start = Start(
            sequence_number=_counter(message, "sequenceNumber", "start", default=1),
            stream_sid=_sid(body, "streamSid", fallback=message.get("streamSid")),
            call_sid=_sid(body, "callSid"),
            account_sid=str(body.get("accountSid", "")),
            tracks=tuple(str(t) for t in tracks) if isinstance(tracks, list) else ("inbound",),
            encoding=str(media_format.get("encoding", "audio/x-mulaw")),
            sample_rate=_int(media_format.get("sampleRate", 8000), "start.mediaFormat.sampleRate"),
            channels=_int(media_format.get("channels", 1), "start.mediaFormat.channels"),
            custom_parameters={str(k): str(v) for k, v in params.items()},
        )
        self.start = start
        self.phase = StreamPhase.STARTED
        self._next_sequence = start.sequence_number + 1
        return start

    def _on_media(self, message: dict[str, Any], sequence: int) -> InboundEvent:
        body = _object(message, "media")
        chunk = _counter(body, "chunk", "media")
        timestamp = _counter(body, "timestamp", "media")
        encoded = _text(body, "payload", "media")
        try:
            payload = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _FieldError(BadFrameKind.BAD_BASE64, f"media.payload: {exc}") from None
        if self._next_chunk is not None and chunk != self._next_chunk:
            if chunk > self._next_chunk:
                self.stats.chunk_gaps += chunk - self._next_chunk
            else:
                self.stats.out_of_order += 1
        self._next_chunk = max(chunk + 1, self._next_chunk or 0)
        self.stats.rx_media += 1
        self.stats.rx_bytes += len(payload)
        return Media(sequence, str(body.get("track", "inbound")), chunk, timestamp, payload)

    def _track_sequence(self, message: dict[str, Any]) -> int:
        sequence = _counter(message, "sequenceNumber", str(message.get("event")))
        expected = self._next_sequence
        if expected is not None and sequence > expected:
            self.stats.sequence_gaps += sequence - expected
        if expected is None or sequence >= expected:
            self._next_sequence = sequence + 1
        return sequence

    def _bad(self, kind: BadFrameKind, detail: str) -> BadFrame:
        first = self.stats.bad_by_kind[kind.value] == 0
        self.stats.bad += 1
        self.stats.bad_by_kind[kind.value] += 1
        return BadFrame(kind, detail, first)

    # -- outbound --------------------------------------------------------------------------------

    def media(self, payload: bytes) -> str:
        """A `media` frame: raw µ-law/8000, no file header; Twilio buffers it and plays in order."""
        self.stats.tx_media += 1
        self.stats.tx_bytes += len(payload)
        return self._outbound({"event": "media", "media": {"payload": base64.b64encode(payload).decode()}})

    def mark(self, name: str) -> str:
        self.stats.marks_sent += 1
        return self._outbound({"event": "mark", "mark": {"name": name}})

    def clear(self) -> str:
        self.stats.clears_sent += 1
        return self._outbound({"event": "clear"})

    def _outbound(self, message: dict[str, Any]) -> str:
        if self.start is None:
            raise RuntimeError("cannot send to Twilio before the stream's start event")
        message["streamSid"] = self.start.stream_sid
        return orjson.dumps(message).decode()


class _FieldError(Exception):
    def __init__(self, kind: BadFrameKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def _object(message: dict[str, Any], key: str) -> dict[str, Any]:
    value = message.get(key)
    if value is None:
        raise _FieldError(BadFrameKind.MISSING_FIELD, f"{key} event has no {key!r} object")
    if not isinstance(value, dict):
        raise _FieldError(BadFrameKind.BAD_FIELD, f"{key!r} is not an object")
    return value


def _text(body: dict[str, Any], key: str, where: str, fallback: object = None) -> str:
    value = body.get(key, fallback)
    if value is None or value == "":
        raise _FieldError(BadFrameKind.MISSING_FIELD, f"{where}.{key} is missing")
    if not isinstance(value, str):
        raise _FieldError(BadFrameKind.BAD_FIELD, f"{where}.{key} is not a string")
    return value


def _sid(body: dict[str, Any], key: str, fallback: object = None) -> str:
    # A CallSid or StreamSid is 34 characters; the endpoint keeps live ones and logs them on every line.
    value = _text(body, key, "start", fallback)
    if len(value) > MAX_SID_CHARS:
        raise _FieldError(BadFrameKind.BAD_FIELD, f"start.{key} is over {MAX_SID_CHARS} characters")
    return value


def _counter(body: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    # Twilio sends counters as decimal strings; accept numbers too, reject anything else.
    value = body.get(key)
    if value is None:
        if default is not None:
            return default
        raise _FieldError(BadFrameKind.MISSING_FIELD, f"{where}.{key} is missing")
    return _int(value, f"{where}.{key}")


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError(BadFrameKind.BAD_FIELD, f"{where} is not a number")
    if isinstance(value, str):
        # Plain ASCII digits only: int() would also take "1_000", " 7", "+7" and other scripts' digits,
        # and takes quadratic time over a long string.
        if not (0 < len(value) <= _MAX_COUNTER_DIGITS and value.isascii() and value.isdigit()):
            shown = value if len(value) <= 20 else value[:20] + "..."
            raise _FieldError(BadFrameKind.BAD_FIELD, f"{where}={shown!r} is not a counter")
        value = int(value)
    if value < 0:
        raise _FieldError(BadFrameKind.BAD_FIELD, f"{where} is negative")
    if value > MAX_COUNTER:
        raise _FieldError(BadFrameKind.BAD_FIELD, f"{where} is over {MAX_COUNTER}")
    return value
