"""What the call bridge has yet to write to the agent's Converse stream, in order.

`None` is the end of the stream (the writer half-closes). A request the writer took but could not write
(the stream broke) goes back to the front, so a reopened stream sends it and no caller audio is lost.
"""

from __future__ import annotations

import asyncio

from agentlocator.agent.v1 import agent_pb2 as pb

# At most 200 ms of caller audio in one AudioIn when frames queued up behind a slow write.
MAX_FRAMES_PER_AUDIO_IN = 10

Request = pb.ConverseRequest | None


class AgentRequests:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Request] = asyncio.Queue()
        # A request taken from the queue while merging audio, to be written next.
        self._carry: list[Request] = []

    def put(self, request: Request) -> None:
        self._queue.put_nowait(request)

    async def next(self) -> Request:
        """The next request to write. Caller audio already queued behind it rides in the same AudioIn:
        a gRPC write costs far more than its bytes, so merging what a slow write left waiting lets the
        writer catch up under load, and adds no delay when nothing is waiting."""
        if self._carry:
            return self._carry.pop()
        first = await self._queue.get()
        if first is None or self._queue.empty() or not first.HasField("audio_in"):
            return first
        chunks = [first.audio_in.audio]
        while not self._queue.empty() and len(chunks) < MAX_FRAMES_PER_AUDIO_IN:
            following = self._queue.get_nowait()
            if following is None or not following.HasField("audio_in"):
                self._carry.append(following)
                break
            chunks.append(following.audio_in.audio)
        if len(chunks) > 1:
            first.audio_in.audio = b"".join(chunks)
        return first

    def put_back(self, request: Request) -> None:
        """Return a request the writer took but did not write: it goes first, then whatever was waiting."""
        items = [request, *self._carry]
        self._carry.clear()
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        for item in items:
            self._queue.put_nowait(item)
