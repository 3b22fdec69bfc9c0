"""Every integer and sid in a Media Streams frame is bounded where it enters: an absurd one is a bad frame.

A `media.chunk` of `"1" + "0" * 400` used to be accepted, then made the gap counter overflow a float
when the call ended (`WS_GAPS.inc()` raised `OverflowError`), which skipped the rest of the cleanup.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from voice_gateway.twilio.media_streams import BadFrame, BadFrameKind, Media, MediaStreamServer, Start
from voice_gateway.twilio.media_streams.server import MAX_COUNTER, MAX_SID_CHARS

SID = "MZ" + "1" * 32
HUGE = "1" + "0" * 400


def started() -> MediaStreamServer:
    server = MediaStreamServer()
    start = {"streamSid": SID, "callSid": "CA" + "1" * 32, "accountSid": "AC1", "customParameters": {}}
    assert isinstance(server.receive(json.dumps({"event": "start", "start": start})), Start)
    return server


def media(sequence: Any = "2", chunk: Any = "1", timestamp: Any = "0") -> str:
    body = {"chunk": chunk, "timestamp": timestamp, "payload": "AAA="}
    return json.dumps({"event": "media", "sequenceNumber": sequence, "media": body, "streamSid": SID})


@pytest.mark.parametrize(
    ("field", "frame"),
    [
        ("media.chunk", media(chunk=HUGE)),
        ("media.timestamp", media(timestamp=HUGE)),
        ("media.sequenceNumber", media(sequence=HUGE)),
        ("media.chunk", media(chunk=MAX_COUNTER + 1)),
        ("media.chunk", media(chunk=str(MAX_COUNTER + 1))),
        # int() would take these; Twilio never sends them.
        ("media.chunk", media(chunk="1_000")),
        ("media.chunk", media(chunk=" 7")),
        ("media.chunk", media(chunk="+7")),
        ("media.chunk", media(chunk="\u0667")),  # an Arabic-Indic seven
    ],
)
def test_an_absurd_counter_is_a_bad_field_and_counts_no_gap(field: str, frame: str) -> None:
    server = started()
    event = server.receive(frame)
    assert isinstance(event, BadFrame) and event.kind is BadFrameKind.BAD_FIELD
    assert field in event.detail
    assert server.stats.chunk_gaps == 0 and server.stats.sequence_gaps == 0


def test_counters_up_to_the_bound_are_accepted_and_the_gaps_stay_small_enough_to_count() -> None:
    server = started()
    assert isinstance(server.receive(media(sequence="2", chunk="1")), Media)
    top = server.receive(media(sequence=str(MAX_COUNTER), chunk=str(MAX_COUNTER), timestamp=MAX_COUNTER))
    assert isinstance(top, Media) and top.chunk == MAX_COUNTER
    # What the endpoint adds to a Prometheus counter at the end of the call must be a finite float.
    assert float(server.stats.chunk_gaps) == MAX_COUNTER - 2


def test_an_absurd_start_sequence_number_or_sample_rate_is_a_bad_field() -> None:
    for start_fields in ({"sequenceNumber": HUGE}, {}):
        server = MediaStreamServer()
        body: dict[str, Any] = {"streamSid": SID, "callSid": "CA1", "mediaFormat": {}}
        if not start_fields:
            body["mediaFormat"]["sampleRate"] = HUGE
        event = server.receive(json.dumps({"event": "start", "start": body, **start_fields}))
        assert isinstance(event, BadFrame) and event.kind is BadFrameKind.BAD_FIELD
        assert server.start is None


@pytest.mark.parametrize("key", ["callSid", "streamSid"])
def test_a_sid_longer_than_any_twilio_sid_is_a_bad_field(key: str) -> None:
    server = MediaStreamServer()
    body = {"streamSid": SID, "callSid": "CA1", key: "C" * (MAX_SID_CHARS + 1)}
    event = server.receive(json.dumps({"event": "start", "start": body}))
    assert isinstance(event, BadFrame) and event.kind is BadFrameKind.BAD_FIELD
    assert f"start.{key} is over {MAX_SID_CHARS} characters" == event.detail
