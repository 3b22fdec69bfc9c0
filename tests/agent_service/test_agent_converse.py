"""Converse against a real agent process: the echo round trip, protocol errors, limits, ping/pong."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import grpc
import pytest
from agentlocator.agent.v1 import agent_pb2

from tests.agent_service.client import (
    agent_stub,
    audio_in,
    frames,
    hangup,
    ping,
    read_to_end,
    read_until,
    session_start,
    start_call,
)
from tests.agent_service.conftest import AgentFactory
from tests.procs import ServerProcess


def _kinds(responses: list[Any]) -> list[str]:
    return [r.WhichOneof("event") for r in responses]


async def test_echo_returns_the_callers_audio_cut_into_utterances_each_followed_by_a_mark(
    agent: ServerProcess,
) -> None:
    sent = frames(125)  # 2.5 s at 20 ms per frame: two full 1 s utterances and a half one
    async with agent_stub(agent.port) as stub:
        call = await start_call(stub, "CA-echo")
        reader = asyncio.ensure_future(read_to_end(call))
        for seq, frame in enumerate(sent, start=1):
            await call.write(audio_in(frame, seq))
        await call.write(hangup())
        await call.done_writing()
        responses = await reader
        assert await call.code() == grpc.StatusCode.OK

    audio = [r.audio_out for r in responses if r.HasField("audio_out")]
    assert b"".join(a.audio for a in audio) == b"".join(sent)
    assert [r.mark.mark_id for r in responses if r.HasField("mark")] == [
        "echo-1-end",
        "echo-2-end",
        "echo-3-end",
    ]
    finals = [a for a in audio if a.final]
    assert [a.utterance_id for a in finals] == ["echo-1", "echo-2", "echo-3"]
    assert sum(len(a.audio) for a in audio if a.utterance_id == "echo-1") == 8000  # 1 s of 8 kHz mu-law
    # Each mark comes right after the final chunk of its utterance, and chunks count up from 0.
    for index, response in enumerate(responses):
        if response.HasField("mark"):
            previous = responses[index - 1].audio_out
            assert previous.final and previous.utterance_id == response.mark.utterance_id
    # (Chunks a slow write left queued may leave merged, so there can be fewer than 50.)
    echo_2 = [a.chunk_seq for a in audio if a.utterance_id == "echo-2"]
    assert echo_2 == list(range(len(echo_2)))
    # The half utterance left at hangup is closed with an empty final chunk.
    assert audio[-1].utterance_id == "echo-3" and audio[-1].final and audio[-1].audio == b""
    agent.wait_for('CALL_END call=CA-echo reason="hangup (caller hung up)" in_frames=125')


async def test_the_first_response_accepts_the_session_naming_pipeline_and_protocol_version(
    agent: ServerProcess,
) -> None:
    async with agent_stub(agent.port) as stub:
        call = stub.Converse()
        await call.write(session_start("CA-accept"))
        first = await call.read()
        await call.done_writing()
        assert await read_to_end(call) == []
        assert await call.code() == grpc.StatusCode.OK
    assert first.session_accepted == agent_pb2.SessionAccepted(protocol_version=1, pipeline="echo")
    agent.wait_for('CALL_END call=CA-accept reason="client closed stream" in_frames=0 out_frames=0')


async def test_audio_before_session_start_is_invalid_argument(agent: ServerProcess) -> None:
    async with agent_stub(agent.port) as stub:
        call = stub.Converse()
        await call.write(audio_in(frames(1)[0], 1))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "the first ConverseRequest must be SessionStart, got audio_in"


async def test_a_stream_closed_before_session_start_is_invalid_argument(agent: ServerProcess) -> None:
    async with agent_stub(agent.port) as stub:
        call = stub.Converse()
        await call.done_writing()
        assert await call.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "SessionStart" in await call.details()


async def test_a_second_session_start_is_invalid_argument(agent: ServerProcess) -> None:
    async with agent_stub(agent.port) as stub:
        call = stub.Converse()
        await call.write(session_start("CA-twice"))
        await call.write(session_start("CA-twice"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await read_to_end(call)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "only allowed as the first ConverseRequest" in (raised.value.details() or "")


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"call_sid": ""}, "SessionStart.call_sid is required"),
        ({"encoding": agent_pb2.AUDIO_ENCODING_UNSPECIFIED}, "SessionStart.encoding must be"),
        ({"protocol_version": 7}, "protocol_version 7 is not supported"),
    ],
)
async def test_an_invalid_session_start_is_invalid_argument_naming_the_field(
    agent: ServerProcess, fields: dict[str, Any], detail: str
) -> None:
    request = session_start("CA-bad")
    for name, value in fields.items():
        setattr(request.session_start, name, value)
    async with agent_stub(agent.port) as stub:
        call = stub.Converse()
        await call.write(request)
        assert await call.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert detail in await call.details()


@pytest.mark.parametrize(
    ("policy", "detail"),
    [
        (
            {"barge_in": agent_pb2.BargeInPolicy(enabled=True, min_speech_ms=5)},
            "SessionStart.barge_in.min_speech_ms=5 is out of range: 0 (the server's choice) or 40..2000 ms",
        ),
        (
            {"barge_in": agent_pb2.BargeInPolicy(enabled=True, protected_ms=90_000)},
            "SessionStart.barge_in.protected_ms=90000 is out of range",
        ),
        (
            {"endpointing": agent_pb2.EndpointingPolicy(silence_ms=20)},
            "SessionStart.endpointing.silence_ms=20",
        ),
        (
            {"endpointing": agent_pb2.EndpointingPolicy(min_utterance_ms=5000)},
            "SessionStart.endpointing.min_utterance_ms=5000",
        ),
        (
            {"endpointing": agent_pb2.EndpointingPolicy(max_utterance_ms=500)},
            "SessionStart.endpointing.max_utterance_ms=500",
        ),
    ],
)
async def test_a_per_call_policy_out_of_range_is_invalid_argument_naming_the_field(
    agent: ServerProcess, policy: dict[str, Any], detail: str
) -> None:
    async with agent_stub(agent.port) as stub:
        call = stub.Converse()
        await call.write(session_start("CA-policy", **policy))
        assert await call.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert detail in await call.details()


async def test_calls_past_the_limit_get_resource_exhausted_and_capacity_returns_after_hangup(
    start_agent: AgentFactory,
) -> None:
    agent = start_agent(AGENT_MAX_CALLS="1")
    async with agent_stub(agent.port) as stub:
        first = await start_call(stub, "CA-first")

        second = stub.Converse()
        await second.write(session_start("CA-second"))
        assert await second.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "AGENT_MAX_CALLS=1" in await second.details()

        await first.write(hangup())
        await first.done_writing()
        await read_to_end(first)
        assert await first.code() == grpc.StatusCode.OK

        third = await start_call(stub, "CA-third")
        await third.done_writing()
        await read_to_end(third)
        assert await third.code() == grpc.StatusCode.OK


async def test_ping_is_answered_with_a_pong_echoing_the_client_timestamp(agent: ServerProcess) -> None:
    async with agent_stub(agent.port) as stub:
        call = await start_call(stub, "CA-ping")
        await call.write(ping(123456789))
        pong, before = await read_until(call, "pong")
        await call.done_writing()
        await read_to_end(call)
    assert before == []
    assert pong.pong.client_timestamp_ms == 123456789
    assert pong.pong.server_timestamp_ms > 0


async def test_metrics_report_the_round_trip_time_the_client_measured(start_agent: AgentFactory) -> None:
    agent = start_agent(AGENT_METRICS_INTERVAL_S="0.05")
    async with agent_stub(agent.port) as stub:
        call = await start_call(stub, "CA-metrics")
        await call.write(audio_in(frames(1)[0], 1))
        await call.write(ping(1, last_rtt_ms=42))
        await read_until(call, "pong")
        while (metrics := (await read_until(call, "metrics"))[0].metrics).rtt_ms != 42:
            pass  # a tick may have fired before the ping was read
        await call.write(hangup())
        await call.done_writing()
        await read_to_end(call)
    assert metrics.in_frames == 1
    assert metrics.out_frames == 1


async def test_a_stream_that_never_sends_session_start_is_closed_with_invalid_argument(
    start_agent: AgentFactory,
) -> None:
    agent = start_agent(AGENT_SESSION_START_TIMEOUT_S="0.2")
    async with agent_stub(agent.port) as stub:
        call = stub.Converse()
        assert await call.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert await call.details() == "no SessionStart within 0.2 s of opening the stream"


async def test_a_cancelled_call_is_logged_and_frees_its_slot(start_agent: AgentFactory) -> None:
    agent = start_agent(AGENT_MAX_CALLS="1")
    async with agent_stub(agent.port) as stub:
        dropped = await start_call(stub, "CA-dropped")
        dropped.cancel()
        # A cancel reaches the server as RST_STREAM; grpc may surface it to the handler as a plain end
        # of stream before it marks the RPC cancelled, so both reasons are honest descriptions of it.
        ended = re.compile(
            r'CALL_END call=CA-dropped reason="(cancelled by client or server|client closed stream)"'
        )
        await asyncio.to_thread(agent.wait_for, ended)
        after = await start_call(stub, "CA-after")
        await after.done_writing()
        await read_to_end(after)
        assert await after.code() == grpc.StatusCode.OK
