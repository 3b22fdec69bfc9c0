"""The call bridge's writer: caller audio that queued up behind a slow gRPC write leaves as one AudioIn."""

from __future__ import annotations

from agentlocator.agent.v1 import agent_pb2 as pb

from voice_gateway.agent_link import AgentLink
from voice_gateway.call_bridge import MAX_FRAMES_PER_AUDIO_IN, CallBridge
from voice_gateway.call_registry import CallRegistry
from voice_gateway.media_streams import MediaStreamServer


async def _nothing(*_: object) -> None:
    return None


def _bridge() -> CallBridge:
    # The agent address is never dialled: only the writer's queue is exercised.
    link = AgentLink("127.0.0.1:9")
    return CallBridge(MediaStreamServer(64 * 1024), _nothing, _nothing, link, CallRegistry())


def _audio(n: int) -> pb.ConverseRequest:
    return pb.ConverseRequest(audio_in=pb.AudioIn(audio=bytes([n]) * 160, seq=n, media_timestamp_ms=20 * n))


async def test_waiting_frames_merge_in_order_and_other_requests_keep_their_place() -> None:
    bridge = _bridge()
    mark = pb.ConverseRequest(playback_mark=pb.PlaybackMark(mark_id="m1", status=pb.MARK_STATUS_PLAYED))
    for request in (_audio(1), _audio(2), _audio(3), mark, _audio(4), None):
        bridge._requests.put_nowait(request)
    first = await bridge._next_request()
    assert first is not None
    assert first.audio_in.audio == b"\x01" * 160 + b"\x02" * 160 + b"\x03" * 160
    assert (first.audio_in.seq, first.audio_in.media_timestamp_ms) == (1, 20)  # the first frame's
    assert await bridge._next_request() == mark
    assert await bridge._next_request() == _audio(4)  # alone: nothing after it but the end
    assert await bridge._next_request() is None


async def test_a_lone_frame_is_sent_as_it_came_and_a_merge_is_bounded() -> None:
    bridge = _bridge()
    bridge._requests.put_nowait(_audio(1))
    assert await bridge._next_request() == _audio(1)
    for n in range(MAX_FRAMES_PER_AUDIO_IN + 3):
        bridge._requests.put_nowait(_audio(n))
    merged = await bridge._next_request()
    assert merged is not None and len(merged.audio_in.audio) == 160 * MAX_FRAMES_PER_AUDIO_IN
    rest = await bridge._next_request()
    assert rest is not None and len(rest.audio_in.audio) == 160 * 3
