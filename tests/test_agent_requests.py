"""The bridge's queue to the agent: caller audio that waited behind a slow write leaves as one AudioIn."""

from __future__ import annotations

from agentlocator.agent.v1 import agent_pb2 as pb

from voice_gateway.calls.ai.agent_requests import MAX_FRAMES_PER_AUDIO_IN, AgentRequests


def _audio(n: int) -> pb.ConverseRequest:
    return pb.ConverseRequest(audio_in=pb.AudioIn(audio=bytes([n]) * 160, seq=n, media_timestamp_ms=20 * n))


MARK = pb.ConverseRequest(playback_mark=pb.PlaybackMark(mark_id="m1", status=pb.MARK_STATUS_PLAYED))


async def test_waiting_frames_merge_in_order_and_other_requests_keep_their_place() -> None:
    requests = AgentRequests()
    for request in (_audio(1), _audio(2), _audio(3), MARK, _audio(4), None):
        requests.put(request)
    first = await requests.next()
    assert first is not None
    assert first.audio_in.audio == b"\x01" * 160 + b"\x02" * 160 + b"\x03" * 160
    assert (first.audio_in.seq, first.audio_in.media_timestamp_ms) == (1, 20)  # the first frame's
    assert await requests.next() == MARK
    assert await requests.next() == _audio(4)  # alone: nothing after it but the end
    assert await requests.next() is None


async def test_a_lone_frame_is_sent_as_it_came_and_a_merge_is_bounded() -> None:
    requests = AgentRequests()
    requests.put(_audio(1))
    assert await requests.next() == _audio(1)
    for n in range(MAX_FRAMES_PER_AUDIO_IN + 3):
        requests.put(_audio(n))
    merged = await requests.next()
    assert merged is not None and len(merged.audio_in.audio) == 160 * MAX_FRAMES_PER_AUDIO_IN
    rest = await requests.next()
    assert rest is not None and len(rest.audio_in.audio) == 160 * 3


async def test_a_request_that_could_not_be_written_goes_back_first_with_nothing_lost() -> None:
    requests = AgentRequests()
    for request in (_audio(1), MARK, _audio(2)):
        requests.put(request)
    taken = await requests.next()  # _audio(1), with MARK now carried
    requests.put_back(taken)  # the stream broke during its write
    assert [await requests.next() for _ in range(3)] == [_audio(1), MARK, _audio(2)]
