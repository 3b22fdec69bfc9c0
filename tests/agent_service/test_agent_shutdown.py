"""SIGTERM drains the agent: live calls get EndCall and close OK, new calls are refused, exit code 0."""

from __future__ import annotations

import asyncio
import signal

import grpc
import pytest
from agentlocator.agent.v1 import agent_pb2

from agent_service.composition import build_agent
from agent_service.servicer import AgentServicer
from agent_service.settings import AgentSettings
from tests.agent_service.client import (
    agent_stub,
    audio_in,
    frames,
    ping,
    read_to_end,
    read_until,
    start_call,
)
from tests.agent_service.conftest import AgentProcess


async def test_sigterm_during_a_call_sends_end_call_then_closes_the_stream_ok_and_exits_0(
    agent: AgentProcess,
) -> None:
    async with agent_stub(agent.port) as stub:
        call = await start_call(stub, "CA-drain")
        await call.write(audio_in(frames(1)[0], 1))
        await call.write(ping(1))
        await read_until(call, "pong")  # the call is live on the server

        agent.signal(signal.SIGTERM)
        responses = await read_to_end(call)
        assert await call.code() == grpc.StatusCode.OK

    assert responses, "expected EndCall before the end of the stream"
    last = responses[-1]
    assert last.WhichOneof("event") == "end_call"
    assert last.end_call.reason == "server shutting down"
    assert await asyncio.to_thread(agent.wait_exit) == 0
    agent.wait_for('CALL_END call=CA-drain reason="server shutting down"')


class _AbortedError(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code


class _FakeContext:
    """Only what the servicer touches before a call is admitted: a read that never completes, and abort."""

    async def read(self) -> None:
        await asyncio.Event().wait()

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise _AbortedError(code, details)


async def test_while_draining_new_calls_and_chats_are_unavailable() -> None:
    # In-process: against a real process the window between "draining" and "stopped" is too short to hit
    # reliably, and once grpc itself is stopping the status a late client sees is grpc's, not ours.
    servicer = AgentServicer(build_agent(AgentSettings()))
    await servicer.drain(grace_s=0)
    with pytest.raises(_AbortedError) as converse:
        await servicer.Converse(iter(()), _FakeContext())
    with pytest.raises(_AbortedError) as chat:
        await servicer.Chat(agent_pb2.ChatRequest(conversation_id="c", text="hi"), _FakeContext())
    assert converse.value.code == chat.value.code == grpc.StatusCode.UNAVAILABLE
    assert servicer.active_calls == 0
