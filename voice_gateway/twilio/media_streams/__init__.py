"""Twilio Media Streams, sans-IO: JSON text frames in, typed events out, and back. No sockets, no asyncio.

`MediaStreamServer` is the gateway's side of one stream; `TwilioStream` is Twilio's side (used by the
call simulator and the tests). Both only turn strings into events and events into strings.
"""

from voice_gateway.twilio.media_streams.caller import OutboundClear, OutboundMark, OutboundMedia, TwilioStream
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
from voice_gateway.twilio.media_streams.server import MediaStreamServer, StreamPhase, StreamStats

__all__ = [
    "BadFrame",
    "BadFrameKind",
    "Connected",
    "Dtmf",
    "InboundEvent",
    "MarkEcho",
    "Media",
    "MediaStreamServer",
    "OutboundClear",
    "OutboundMark",
    "OutboundMedia",
    "ProtocolViolation",
    "Start",
    "Stop",
    "StreamPhase",
    "StreamStats",
    "TwilioStream",
]
