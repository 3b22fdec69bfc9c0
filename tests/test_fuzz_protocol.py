"""Property-based fuzzing of the Media Streams parser and the µ-law codec (hypothesis, no I/O)."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentlocator_common.telephone_audio import mulaw_decode, mulaw_encode
from voice_gateway.twilio.media_streams import (
    BadFrame,
    Media,
    MediaStreamServer,
    ProtocolViolation,
    Start,
    TwilioStream,
)

SID = "MZfuzz"
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "event",
        "streamSid",
        "sequenceNumber",
        "media",
        "start",
        "mark",
        "dtmf",
        "stop",
        "payload",
        "chunk",
        "x",
    ]
)


def started() -> tuple[MediaStreamServer, TwilioStream]:
    twilio, server = TwilioStream(SID, "CAfuzz", "ACfuzz"), MediaStreamServer()
    server.receive(twilio.connected())
    assert isinstance(server.receive(twilio.start({})), Start)
    return server, twilio


@st.composite
def twilio_like_frames(draw: st.DrawFn) -> str:
    """Frames shaped like Twilio's, with any field replaced, dropped or added."""
    event = draw(st.sampled_from(["media", "mark", "dtmf", "stop", "start", "connected", "clear", "bogus"]))
    message: dict[str, Any] = {
        "event": event,
        "streamSid": SID,
        "sequenceNumber": str(draw(st.integers(0, 99))),
    }
    message["media"] = {
        "track": "inbound",
        "chunk": "1",
        "timestamp": "0",
        "payload": base64.b64encode(b"\xff").decode(),
    }
    message["mark"] = {"name": "m"}
    message["dtmf"] = {"digit": "1"}
    for name, value in draw(st.dictionaries(field_names, json_values, max_size=3)).items():
        message[name] = value
    for name in draw(st.lists(field_names, max_size=2)):
        message.pop(name, None)
    return json.dumps(message)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=300), st.binary(max_size=300), twilio_like_frames()), max_size=12))
def test_any_sequence_of_frames_yields_events_or_bad_frames_never_a_crash(frames: list[str | bytes]) -> None:
    server, _ = started()
    for frame in frames:
        try:
            event = server.receive(frame)
        except ProtocolViolation as violation:
            assert violation.kind in {"second_start", "wrong_stream_sid"}
            return
        if isinstance(event, BadFrame):
            assert event.detail
    assert server.stats.frames == len(frames) + 2
    assert server.stats.bad == sum(server.stats.bad_by_kind.values())


@given(st.lists(st.binary(min_size=1, max_size=400), min_size=1, max_size=30))
@example([b".snd", b"RIFF\x00\x00\x00\x00"])  # raw audio that merely starts like a file header
def test_any_payloads_round_trip_through_both_sides_of_the_protocol(payloads: list[bytes]) -> None:
    server, twilio = started()
    for payload in payloads:
        event = server.receive(twilio.media(payload))
        assert isinstance(event, Media) and event.payload == payload
        assert twilio.parse_outbound(server.media(payload)).payload == payload  # type: ignore[union-attr]
    assert server.stats.sequence_gaps == 0 and server.stats.chunk_gaps == 0


@given(st.binary(max_size=2000))
def test_mulaw_decode_then_encode_is_the_identity_except_negative_zero(data: bytes) -> None:
    again = mulaw_encode(mulaw_decode(data))
    assert again == data.replace(b"\x7f", b"\xff")


@given(st.lists(st.integers(-32768, 32767), max_size=500))
def test_mulaw_encoding_keeps_the_sign_and_order_of_samples(values: list[int]) -> None:
    samples = np.array(sorted(values), dtype=np.int16)
    decoded = mulaw_decode(mulaw_encode(samples)).astype(np.int32)
    assert np.all(np.diff(decoded) >= 0)  # monotonic: louder never comes back quieter
    assert np.all(np.sign(decoded) * np.sign(samples.astype(np.int32)) >= 0)
