"""The gateway's sans-IO Media Streams protocol, driven synchronously with Twilio's documented frames."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from voice_gateway.twilio.media_streams import (
    BadFrame,
    BadFrameKind,
    Connected,
    Dtmf,
    MarkEcho,
    Media,
    MediaStreamServer,
    ProtocolViolation,
    Start,
    Stop,
    StreamPhase,
)

FIXTURES = Path(__file__).parent / "fixtures" / "twilio"
SID = "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def frame(name: str, **changes: Any) -> str:
    message = json.loads(fixture(name))
    message.update(changes)
    return json.dumps(message)


def media_json(**changes: Any) -> str:
    """A media frame with fields replaced; a value of None removes the field."""
    message: dict[str, Any] = {
        "event": "media",
        "sequenceNumber": "2",
        "media": {"chunk": "1", "timestamp": "0", "payload": "AAA="},
        "streamSid": SID,
    }
    message.update(changes)
    return json.dumps({k: v for k, v in message.items() if v is not None})


def started() -> MediaStreamServer:
    server = MediaStreamServer()
    server.receive(fixture("connected"))
    server.receive(fixture("start"))
    return server


def test_a_documented_call_parses_into_typed_events_in_order() -> None:
    server = MediaStreamServer()
    events = [server.receive(fixture(n)) for n in ("connected", "start", "media", "dtmf", "mark", "stop")]
    assert [type(e) for e in events] == [Connected, Start, Media, Dtmf, MarkEcho, Stop]
    start, media = events[1], events[2]
    assert isinstance(start, Start) and isinstance(media, Media)
    assert start.stream_sid == SID and start.call_sid.startswith("CA")
    assert start.custom_parameters == {"FirstName": "Jane", "LastName": "Doe"}
    assert (start.encoding, start.sample_rate, start.channels) == ("audio/x-mulaw", 8000, 1)
    assert (media.chunk, media.timestamp_ms, media.sequence_number) == (1, 57, 2)
    assert len(media.payload) == 160
    assert server.phase is StreamPhase.STOPPED
    assert server.stats.bad == 0 and server.stats.rx_media == 1


def test_string_and_numeric_counters_are_both_accepted() -> None:
    server = started()
    event = server.receive(frame("media", sequenceNumber=2))
    assert isinstance(event, Media) and event.sequence_number == 2


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("not json at all", BadFrameKind.NOT_JSON),
        ("[1, 2]", BadFrameKind.NOT_JSON),
        (b"\x00\x01binary", BadFrameKind.BINARY),
        ('{"event": "hello", "streamSid": "' + SID + '"}', BadFrameKind.UNKNOWN_EVENT),
        ('{"event": [], "streamSid": "' + SID + '"}', BadFrameKind.UNKNOWN_EVENT),
        (media_json(media=None), BadFrameKind.MISSING_FIELD),
        (media_json(media={"chunk": "1", "timestamp": "0"}), BadFrameKind.MISSING_FIELD),
        (media_json(media={"chunk": "x", "timestamp": "0", "payload": ""}), BadFrameKind.BAD_FIELD),
        (media_json(media={"chunk": "1", "timestamp": "0", "payload": "!!!"}), BadFrameKind.BAD_BASE64),
        (media_json(streamSid=None), BadFrameKind.MISSING_FIELD),
        ("x" * (64 * 1024 + 1), BadFrameKind.OVERSIZED),
    ],
)
def test_a_bad_frame_is_reported_and_the_stream_goes_on(raw: str | bytes, kind: BadFrameKind) -> None:
    server = started()
    event = server.receive(raw)
    assert isinstance(event, BadFrame) and event.kind is kind and event.first_of_kind
    assert isinstance(server.receive(fixture("media")), Media)
    assert server.stats.bad == 1 and server.stats.bad_by_kind[kind.value] == 1


def test_only_the_first_bad_frame_of_a_kind_asks_to_be_logged() -> None:
    server = started()
    first, second = server.receive("nope"), server.receive("nope again")
    other = server.receive(b"\x01")
    assert isinstance(first, BadFrame) and first.first_of_kind
    assert isinstance(second, BadFrame) and not second.first_of_kind
    assert isinstance(other, BadFrame) and other.first_of_kind
    assert server.stats.bad == 3


def test_media_before_start_is_a_bad_frame() -> None:
    server = MediaStreamServer()
    server.receive(fixture("connected"))
    event = server.receive(fixture("media"))
    assert isinstance(event, BadFrame) and event.kind is BadFrameKind.BEFORE_START
    assert isinstance(server.receive(fixture("start")), Start)


def test_frames_after_stop_are_bad_frames() -> None:
    server = started()
    server.receive(fixture("stop"))
    event = server.receive(fixture("media"))
    assert isinstance(event, BadFrame) and event.kind is BadFrameKind.AFTER_STOP


def test_a_second_start_is_a_protocol_violation() -> None:
    server = started()
    with pytest.raises(ProtocolViolation) as caught:
        server.receive(fixture("start"))
    assert caught.value.close_code == 1008 and caught.value.kind == "second_start"


def test_a_frame_for_another_stream_is_a_protocol_violation() -> None:
    server = started()
    with pytest.raises(ProtocolViolation, match="does not match"):
        server.receive(frame("media", streamSid="MZother"))


def test_missing_sequence_numbers_and_chunks_are_counted_as_gaps() -> None:
    server = started()
    media = json.loads(fixture("media"))
    for sequence, chunk in [(2, 1), (3, 2), (6, 5), (7, 6)]:
        media["sequenceNumber"] = str(sequence)
        media["media"]["chunk"] = str(chunk)
        assert isinstance(server.receive(json.dumps(media)), Media)
    assert server.stats.sequence_gaps == 2
    assert server.stats.chunk_gaps == 2


def test_outbound_frames_carry_the_stream_sid_and_raw_base64_audio() -> None:
    server = started()
    audio = bytes(range(160))
    media, mark, clear = (
        json.loads(server.media(audio)),
        json.loads(server.mark("m1")),
        json.loads(server.clear()),
    )
    assert media == {
        "event": "media",
        "media": {"payload": base64.b64encode(audio).decode()},
        "streamSid": SID,
    }
    assert mark == {"event": "mark", "mark": {"name": "m1"}, "streamSid": SID}
    assert clear == {"event": "clear", "streamSid": SID}
    assert (server.stats.tx_media, server.stats.marks_sent, server.stats.clears_sent) == (1, 1, 1)


def test_nothing_can_be_sent_before_start() -> None:
    with pytest.raises(RuntimeError, match="before the stream's start"):
        MediaStreamServer().media(b"\xff" * 160)
