"""A small grpc.aio client for driving Converse the way the gateway does (reader/writer API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from agentlocator.agent.v1 import agent_pb2, agent_pb2_grpc

FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law, as Twilio sends it


@asynccontextmanager
async def agent_stub(port: int) -> AsyncIterator[Any]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield agent_pb2_grpc.AgentServiceStub(channel)


def session_start(call_sid: str = "CA-test", **fields: Any) -> Any:
    start = agent_pb2.SessionStart(
        call_sid=call_sid,
        stream_sid=f"MZ-{call_sid}",
        encoding=agent_pb2.AUDIO_ENCODING_MULAW_8K,
        protocol_version=1,
        **fields,
    )
    return agent_pb2.ConverseRequest(session_start=start)


def frames(count: int) -> list[bytes]:
    """Distinct, recognisable frames, so reordering or loss shows up in a byte comparison."""
    return [bytes((index * 31 + offset) % 256 for offset in range(FRAME_BYTES)) for index in range(count)]


def audio_in(frame: bytes, seq: int) -> Any:
    audio = agent_pb2.AudioIn(audio=frame, seq=seq, media_timestamp_ms=(seq - 1) * 20)
    return agent_pb2.ConverseRequest(audio_in=audio)


def ping(client_timestamp_ms: int, last_rtt_ms: int = 0) -> Any:
    return agent_pb2.ConverseRequest(
        ping=agent_pb2.Ping(client_timestamp_ms=client_timestamp_ms, last_rtt_ms=last_rtt_ms)
    )


def dtmf(digit: str) -> Any:
    return agent_pb2.ConverseRequest(dtmf=agent_pb2.Dtmf(digit=digit))


def hangup(reason: str = "caller hung up") -> Any:
    return agent_pb2.ConverseRequest(hangup=agent_pb2.Hangup(reason=reason))


async def start_call(stub: Any, call_sid: str = "CA-test", **fields: Any) -> Any:
    """Open a Converse stream the way the gateway should: SessionStart, then wait for SessionAccepted."""
    call = stub.Converse()
    await call.write(session_start(call_sid, **fields))
    first = await call.read()
    if first is grpc.aio.EOF or first.WhichOneof("event") != "session_accepted":
        raise AssertionError(f"expected session_accepted first, got {first!r}")
    return call


async def read_until(call: Any, kind: str) -> tuple[Any, list[Any]]:
    """Read until a response of `kind`; return it and everything read before it."""
    before: list[Any] = []
    while True:
        response = await call.read()
        if response is grpc.aio.EOF:
            raise AssertionError(f"stream ended before a {kind!r} response; got {before}")
        if response.WhichOneof("event") == kind:
            return response, before
        before.append(response)


async def read_to_end(call: Any) -> list[Any]:
    responses: list[Any] = []
    while (response := await call.read()) is not grpc.aio.EOF:
        responses.append(response)
    return responses
