"""Twilio's side of the stream (used by the simulator): the frames it sends and the checks it applies."""

from __future__ import annotations

import base64
import json

import pytest

from voice_gateway.twilio.media_streams import (
    Media,
    MediaStreamServer,
    OutboundClear,
    OutboundMark,
    OutboundMedia,
    Start,
    TwilioStream,
)
from voice_gateway.twilio.media_streams.caller import TwilioWarning


def pair() -> tuple[TwilioStream, MediaStreamServer]:
    twilio, server = TwilioStream("MZ1", "CA1", "AC1"), MediaStreamServer()
    server.receive(twilio.connected())
    start = server.receive(twilio.start({"token": "t"}))
    assert isinstance(start, Start) and start.custom_parameters == {"token": "t"}
    return twilio, server


def test_frames_built_by_twilios_side_parse_on_ours_with_counters_as_strings() -> None:
    twilio, server = pair()
    frames = [twilio.media(b"\xff" * 160) for _ in range(3)]
    assert all(isinstance(json.loads(f)["media"]["chunk"], str) for f in frames)
    events = [server.receive(f) for f in frames]
    assert [e.timestamp_ms for e in events if isinstance(e, Media)] == [0, 20, 40]
    assert twilio.media_ms == 60
    assert server.stats.sequence_gaps == 0 and server.stats.chunk_gaps == 0


def test_our_outbound_frames_are_accepted_by_twilios_checks() -> None:
    twilio, server = pair()
    assert twilio.parse_outbound(server.media(b"\x01\x02")) == OutboundMedia(b"\x01\x02")
    assert twilio.parse_outbound(server.mark("x")) == OutboundMark("x")
    assert twilio.parse_outbound(server.clear()) == OutboundClear()


@pytest.mark.parametrize(
    ("frame", "code", "text"),
    [
        (b"binary", 31950, "binary"),
        ("{", 31951, "JSON"),
        ('{"event": "play", "streamSid": "MZ1"}', 31951, "unknown message type"),
        ('{"event": "clear", "streamSid": "MZ2"}', 31951, "wrong Stream SID"),
        ('{"event": "clear", "streamSid": "MZ1", "extra": 1}', 31951, "extra field"),
        (
            '{"event": "media", "streamSid": "MZ1", "media": {"payload": "'
            + base64.b64encode(b"RIFF\x24\x00\x00\x00WAVEfmt ").decode()
            + '"}}',
            31951,
            "file header",
        ),
    ],
)
def test_frames_twilio_would_reject_raise_the_warning_twilio_logs(
    frame: str | bytes, code: int, text: str
) -> None:
    twilio, _ = pair()
    with pytest.raises(TwilioWarning, match=text) as caught:
        twilio.parse_outbound(frame)
    assert caught.value.code == code
