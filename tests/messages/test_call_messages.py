"""A message the agent takes on a call, through the real bridge to a real database: acknowledged only once
committed, stored once however often it comes (a copy, a resumed stream), never acknowledged when it could
not be stored (so the agent keeps it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from agentlocator.agent.v1 import agent_pb2 as pb
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.calls.test_call_bridge import Line, Script
from tests.messages.conftest import CALLER, taken
from tests.scripted_agent import ScriptedAgent, ScriptedCall
from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.bridge import CallBridge
from voice_gateway.calls.registry import CallRegistry
from voice_gateway.messages.inbox import OwnerInbox
from voice_gateway.storage.owner_messages import OwnerMessageStore

AgentFactory = Callable[[Script], Awaitable[tuple[ScriptedAgent, AgentClient]]]


def is_ack(request: pb.ConverseRequest) -> bool:
    return bool(request.WhichOneof("event") == "message_stored")


async def run_call(
    client: AgentClient, inbox: OwnerInbox, until: Callable[[Line], Awaitable[object]]
) -> CallBridge:
    line = Line()
    bridge = CallBridge(line.server, line.send, line.close, client, CallRegistry(), keep_message=inbox.keep)
    await line.feed(bridge, line.twilio.connected())
    await line.feed(bridge, line.twilio.start({"From": CALLER}))
    await asyncio.wait_for(until(line), 10)
    await inbox.drain()  # whatever the call handed over is stored (or given up) before it ends
    await line.feed(bridge, line.twilio.stop())
    await bridge.aclose()
    return bridge


async def test_a_message_is_acknowledged_only_once_committed_and_a_copy_is_stored_once(
    agent_factory: AgentFactory, engine: AsyncEngine
) -> None:
    store = OwnerMessageStore(engine)
    message = taken()
    seen_at_ack: list[Any] = []
    done = asyncio.Event()

    async def script(call: ScriptedCall) -> None:
        await call.send(taken_message=message)
        await call.send(taken_message=message)  # sent again, as after a resume
        first_ack = await call.wait_for(is_ack)
        seen_at_ack.append(await store.get(first_ack.message_stored.message_id))
        await call.wait_for(lambda r: sum(map(is_ack, call.requests)) == 2)
        done.set()
        await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
        await call.finish()

    agent, client = await agent_factory(script)
    await run_call(client, OwnerInbox(store, None), lambda _: done.wait())

    assert seen_at_ack[0] is not None and seen_at_ack[0].reason == message.reason  # committed before the ack
    stored = await store.page(None, 10)
    assert [(m.id, m.name, m.number, m.channel) for m in stored] == [
        (message.message_id, "Jo Bloggs", "07700900123", "voice")
    ]
    acks = [r.message_stored.message_id for r in agent.calls[0].requests if is_ack(r)]
    assert acks == [message.message_id] * 2


async def test_a_message_from_a_stream_lost_before_its_ack_is_stored_once_from_the_resumed_stream(
    agent_factory: AgentFactory, engine: AsyncEngine
) -> None:
    store = OwnerMessageStore(engine)
    message = taken()
    done = asyncio.Event()

    streams: list[ScriptedCall] = []

    async def script(call: ScriptedCall) -> None:
        streams.append(call)
        if len(streams) == 1:
            await call.send(taken_message=message)
            await call.context.abort(grpc.StatusCode.UNAVAILABLE, "agent restarting")
        await call.send(taken_message=message)  # the agent sends what is unacknowledged again
        await call.wait_for(is_ack)
        done.set()
        await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
        await call.finish()

    agent, client = await agent_factory(script)
    bridge = await run_call(client, OwnerInbox(store, None), lambda _: done.wait())

    assert bridge.restarts == 1 and agent.calls[1].requests[0].session_start.resumed
    assert [m.id for m in await store.page(None, 10)] == [message.message_id]


class BrokenStore(OwnerMessageStore):
    async def add(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")


async def test_a_message_that_could_not_be_stored_is_not_acknowledged_and_the_call_goes_on(
    agent_factory: AgentFactory, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:

    async def script(call: ScriptedCall) -> None:
        await call.send(taken_message=taken())
        await call.send(audio_out=pb.AudioOut(utterance_id="u1", audio=bytes([0x7F]) * 160, final=True))
        await call.send(mark=pb.Mark(mark_id="m1", utterance_id="u1"))
        await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
        await call.finish()

    agent, client = await agent_factory(script)
    inbox = OwnerInbox(BrokenStore(engine), None)
    # Once the mark behind it reached Twilio, the bridge has handed the message to the inbox.
    bridge = await run_call(client, inbox, lambda line: line.wait_for_marks("m1"))

    assert not any(is_ack(r) for r in agent.calls[0].requests)  # the agent keeps it and sends it again
    assert "OWNER_MESSAGE_NOT_STORED" in caplog.text and "CALL_MESSAGE_NOT_STORED" in caplog.text
    assert bridge.restarts == 0
