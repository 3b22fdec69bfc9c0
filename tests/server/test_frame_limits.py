"""MAX_WS_FRAME_BYTES is a size in bytes, as on the wire: a frame of 3-byte characters is measured as such."""

from __future__ import annotations

from voice_gateway.twilio.media_streams import BadFrame, BadFrameKind, MediaStreamServer, Start, TwilioStream


def test_the_frame_limit_counts_utf8_bytes_not_characters() -> None:
    server = MediaStreamServer(max_frame_bytes=64 * 1024)
    twilio = TwilioStream("MZbytes", "CAbytes", "ACbytes")
    server.receive(twilio.connected())
    assert isinstance(server.receive(twilio.start({})), Start)
    euros = '{"event": "mark", "pad": "' + "€" * 60_000 + '"}'  # 60 k characters, 180 kB on the wire
    assert len(euros) < 64 * 1024 < len(euros.encode())
    event = server.receive(euros)
    assert isinstance(event, BadFrame) and event.kind is BadFrameKind.OVERSIZED
    ascii_frame = '{"event": "mark", "pad": "' + "e" * 60_000 + '"}'  # as many characters, under the limit
    assert not (
        isinstance(event := server.receive(ascii_frame), BadFrame) and event.kind is BadFrameKind.OVERSIZED
    )
