"""Twilio's side of one Media Stream: the frames Twilio sends, and checks on the frames it receives.

Used by the call simulator to stand in for Twilio. The checks are the ones Twilio itself applies and
reports as warnings (31950 for binary frames, 31951 for invalid messages or a wrong streamSid).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from voice_gateway.twilio.media_streams.events import MULAW_BYTES_PER_MS


@dataclass(frozen=True, slots=True)
class OutboundMedia:
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboundMark:
    name: str


@dataclass(frozen=True, slots=True)
class OutboundClear:
    pass


OutboundEvent = OutboundMedia | OutboundMark | OutboundClear


class TwilioWarning(Exception):
    """A frame Twilio would reject, with the error code Twilio would show in its debugger."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"Twilio {code}: {detail}")
        self.code = code
        self.detail = detail


class TwilioStream:
    """Builds the frames Twilio sends for one stream, numbering them the way Twilio does."""

    def __init__(self, stream_sid: str, call_sid: str, account_sid: str) -> None:
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.account_sid = account_sid
        self._sequence = 0
        self._chunk = 0
        self._media_ms = 0

    @property
    def media_ms(self) -> int:
        """Milliseconds of caller audio sent so far: Twilio's media clock."""
        return self._media_ms

    def _next(self) -> str:
        self._sequence += 1
        return str(self._sequence)

    def connected(self) -> str:
        return _dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self, custom_parameters: dict[str, str]) -> str:
        return _dumps(
            {
                "event": "start",
                "sequenceNumber": self._next(),
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": custom_parameters,
                },
                "streamSid": self.stream_sid,
            }
        )

    def media(self, payload: bytes) -> str:
        self._chunk += 1
        frame = _dumps(
            {
                "event": "media",
                "sequenceNumber": self._next(),
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(self._media_ms),
                    "payload": base64.b64encode(payload).decode(),
                },
                "streamSid": self.stream_sid,
            }
        )
        self._media_ms += len(payload) // MULAW_BYTES_PER_MS
        return frame

    def dtmf(self, digit: str) -> str:
        return _dumps(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "sequenceNumber": self._next(),
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    def mark(self, name: str) -> str:
        return _dumps(
            {
                "event": "mark",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            }
        )

    def stop(self) -> str:
        return _dumps(
            {
                "event": "stop",
                "sequenceNumber": self._next(),
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
                "streamSid": self.stream_sid,
            }
        )

    def parse_outbound(self, frame: str | bytes) -> OutboundEvent:
        """Parse a frame the server sent, or raise `TwilioWarning` as Twilio would."""
        if isinstance(frame, bytes):
            raise TwilioWarning(31950, "binary WebSocket frame; Twilio accepts JSON text only")
        try:
            message = orjson.loads(frame)
        except orjson.JSONDecodeError:
            raise TwilioWarning(31951, "message does not have JSON format") from None
        if not isinstance(message, dict):
            raise TwilioWarning(31951, "message is not a JSON object")
        event = message.get("event")
        if event not in {"media", "mark", "clear"}:
            raise TwilioWarning(31951, f"unknown message type {event!r}")
        if message.get("streamSid") != self.stream_sid:
            raise TwilioWarning(31951, f"wrong Stream SID {message.get('streamSid')!r}")
        if event == "clear":
            _only_keys(message, {"event", "streamSid"})
            return OutboundClear()
        body = message.get(event)
        if not isinstance(body, dict):
            raise TwilioWarning(31951, f"{event} message has no {event!r} object")
        _only_keys(message, {"event", "streamSid", event})
        if event == "mark":
            name = body.get("name")
            if not isinstance(name, str) or not name:
                raise TwilioWarning(31951, "mark message has no name")
            return OutboundMark(name)
        payload = body.get("payload")
        if not isinstance(payload, str):
            raise TwilioWarning(31951, "media message has no payload")
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise TwilioWarning(31951, "media payload is not valid base64") from None
        if _has_file_header(audio):
            raise TwilioWarning(31951, "media payload has an audio file header; send raw µ-law")
        return OutboundMedia(audio)


def _has_file_header(audio: bytes) -> bool:
    """A WAV (RIFF....WAVE) or Sun/NeXT AU (.snd + a plausible data offset) header, not lookalike bytes."""
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return True
    return audio[:4] == b".snd" and len(audio) >= 24 and 24 <= int.from_bytes(audio[4:8], "big") <= 1024


def _only_keys(message: dict[str, Any], allowed: set[str]) -> None:
    extra = set(message) - allowed
    if extra:
        raise TwilioWarning(31951, f"extra field(s) in message: {', '.join(sorted(extra))}")


def _dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()
