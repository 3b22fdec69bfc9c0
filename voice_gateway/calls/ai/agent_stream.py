"""One call's `Converse` stream to the agent: its writer, its responses, and its one reopening.

The stream is written by one task (`write`) from the call's `AgentRequests` queue and read by whoever
iterates `responses()`. When it breaks, `reopen()` starts a new stream marked `resumed` on the same
queue: a request the old writer had taken but not written goes back to the front, so no caller audio is
lost across the reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from agentlocator.agent.v1 import agent_pb2 as pb

from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.agent_requests import AgentRequests

# What a write raises once its stream is broken, cancelled or already finished.
_STREAM_GONE = (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError)


class AgentStream:
    def __init__(self, agent: AgentClient, session: pb.SessionStart, requests: AgentRequests) -> None:
        self.agent = agent
        self.session = session
        self.requests = requests
        self.accepted = asyncio.Event()  # the agent admitted this stream: audio may flow
        self._call: grpc.aio.StreamStreamCall | None = None

    def open(self, resumed: bool = False) -> None:
        """Start a new `Converse` stream; the caller then runs `write()` for it in its own task."""
        self.session.resumed = resumed
        self.accepted.clear()
        self._call = self.agent.stub().Converse()

    async def write(self) -> None:
        """Write the session start, then every queued request until `None` (half-close) or a break."""
        call = self._call
        assert call is not None, "open() first"
        held: pb.ConverseRequest | None = None
        holding = False
        try:
            await call.write(pb.ConverseRequest(session_start=self.session))
            # Audio waits in the queue until the agent admits the call; a write in flight when the
            # agent refuses would hide its status (RESOURCE_EXHAUSTED) behind a generic INTERNAL.
            await self.accepted.wait()
            while True:
                held, holding = await self.requests.next(), True
                if held is None:
                    await call.done_writing()
                    return
                await call.write(held)
                holding = False
        except (*_STREAM_GONE, asyncio.CancelledError):
            # Hand the request back: a reopened stream sends it, so no caller audio is lost.
            if holding:
                self.requests.put_back(held)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise

    async def responses(self) -> AsyncIterator[pb.ConverseResponse]:
        """The current stream's responses; raises `grpc.aio.AioRpcError` when it breaks."""
        assert self._call is not None, "open() first"
        async for response in self._call:
            if response.WhichOneof("event") == "session_accepted":
                self.accepted.set()
            yield response

    def cancel(self) -> None:
        if self._call is not None:
            self._call.cancel()
