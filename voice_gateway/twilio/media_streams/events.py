"""The events one Twilio Media Stream carries from Twilio to us, as frozen dataclasses."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

# µ-law at 8 kHz is one byte per sample: 8 bytes per millisecond of audio.
MULAW_BYTES_PER_MS = 8


@dataclass(frozen=True, slots=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True, slots=True)
class Start:
    sequence_number: int
    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    encoding: str
    sample_rate: int
    channels: int
    custom_parameters: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Media:
    sequence_number: int
    track: str
    chunk: int
    timestamp_ms: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Dtmf:
    sequence_number: int
    digit: str
    track: str


@dataclass(frozen=True, slots=True)
class MarkEcho:
    """Twilio returning one of our marks: the audio before it played, *or* a `clear` flushed it."""

    sequence_number: int
    name: str


@dataclass(frozen=True, slots=True)
class Stop:
    sequence_number: int
    call_sid: str
    account_sid: str


class BadFrameKind(enum.StrEnum):
    NOT_JSON = "not_json"
    BINARY = "binary"
    OVERSIZED = "oversized"
    UNKNOWN_EVENT = "unknown_event"
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"
    BAD_BASE64 = "bad_base64"
    BEFORE_START = "before_start"
    AFTER_STOP = "after_stop"
    UNEXPECTED = "unexpected"


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame we could not use. The stream goes on; the driver counts it and logs the first of each kind."""

    kind: BadFrameKind
    detail: str
    first_of_kind: bool


InboundEvent = Connected | Start | Media | Dtmf | MarkEcho | Stop | BadFrame


class ProtocolViolation(Exception):
    """The peer broke the stream's contract; the socket must close with code 1008 and this reason."""

    close_code = 1008

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
