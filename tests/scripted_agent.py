"""A real grpc.aio AgentService whose replies a test scripts, to drive the gateway's bridge exactly.

The real agent service's pipelines cover the normal path; this servicer makes the rare ones (a clear
mid-utterance, an end of call, a transfer) happen at a chosen moment. It runs in the test's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from agentlocator.agent.v1 import agent_pb2 as pb
from agentlocator.agent.v1 import agent_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

# A script gets the request stream's events as they arrive and a function that sends a response.
Script = Callable[["ScriptedCall"], Awaitable[None]]


class ScriptedCall:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.requests: list[pb.ConverseRequest] = []
        self.arrived = asyncio.Condition()
        self.outbox: asyncio.Queue[pb.ConverseResponse | None] = asyncio.Queue()

    async def send(self, **event: Any) -> None:
        await self.outbox.put(pb.ConverseResponse(**event))

    async def finish(self) -> None:
        await self.outbox.put(None)

    async def wait_for(
        self, predicate: Callable[[pb.ConverseRequest], bool], within_s: float = 15.0
    ) -> pb.ConverseRequest:
        async with asyncio.timeout(within_s), self.arrived:
            while True:
                for request in self.requests:
                    if predicate(request):
                        return request
                await self.arrived.wait()

    def audio_frames(self) -> int:
        return sum(1 for r in self.requests if r.WhichOneof("event") == "audio_in")


class ScriptedAgent(agent_pb2_grpc.AgentServiceServicer):  # type: ignore[misc]
    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[ScriptedCall] = []

    async def Converse(  # noqa: N802 - the name is the RPC's
        self, request_iterator: AsyncIterator[pb.ConverseRequest], context: Any
    ) -> AsyncIterator[pb.ConverseResponse]:
        call = ScriptedCall(context)
        self.calls.append(call)

        async def read() -> None:
            async for request in request_iterator:
                if request.WhichOneof("event") == "session_start":
                    # Admit the call as the real agent service does, before any scripted reply.
                    accepted = pb.SessionAccepted(protocol_version=1, pipeline="scripted")
                    await call.outbox.put(pb.ConverseResponse(session_accepted=accepted))
                async with call.arrived:
                    call.requests.append(request)
                    call.arrived.notify_all()

        reader = asyncio.create_task(read())
        runner = asyncio.create_task(self.script(call))
        try:
            while (response := await call.outbox.get()) is not None:
                yield response
        finally:
            runner.cancel()
            reader.cancel()
            await asyncio.gather(runner, reader, return_exceptions=True)


async def start_scripted_agent(script: Script) -> tuple[grpc.aio.Server, int, ScriptedAgent]:
    server = grpc.aio.server()
    agent = ScriptedAgent(script)
    agent_pb2_grpc.add_AgentServiceServicer_to_server(agent, server)
    health_servicer = health.aio.HealthServicer()
    await health_servicer.set("agentlocator.agent.v1.AgentService", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port, agent
