"""The per-call queue between everything that produces responses and the single writer.

gRPC keeps order within a stream, so anything queued behind seconds of audio arrives seconds late. Two
lanes fix that: the media lane (audio, marks, transcripts, turn events: their relative order matters) is
bounded and gives back-pressure to the pipeline; the control lane (pong, metrics, clear, end of call) is
small and always drained first.
"""

from __future__ import annotations

import asyncio
from collections import deque

from agentlocator.agent.v1 import agent_pb2

_PURGEABLE = frozenset({"audio_out", "mark"})
MAX_CHUNKS_PER_WRITE = 10


class Outbox:
    def __init__(self, media_limit: int = 64) -> None:
        self._media: deque[agent_pb2.ConverseResponse] = deque()
        self._control: deque[agent_pb2.ConverseResponse] = deque()
        self._media_limit = media_limit
        self._cond = asyncio.Condition()
        self._closed = False
        self._last: agent_pb2.ConverseResponse | None = None
        # Chunks leave numbered 0, 1, 2… per utterance, whatever was merged on the way.
        self._chunk_seq: dict[str, int] = {}

    @property
    def closed(self) -> bool:
        return self._closed

    async def put_media(self, response: agent_pb2.ConverseResponse) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self._closed or len(self._media) < self._media_limit)
            if self._closed:
                return  # the call is ending; late pipeline output has nowhere to go
            self._media.append(response)
            self._cond.notify_all()

    async def put_control(self, response: agent_pb2.ConverseResponse) -> None:
        async with self._cond:
            if not self._closed:
                self._control.append(response)
                self._cond.notify_all()

    async def clear_media(self) -> None:
        """Drop queued agent audio and its marks: it was never sent, so the gateway need not clear it."""
        async with self._cond:
            kept = [r for r in self._media if r.WhichOneof("event") not in _PURGEABLE]
            self._media = deque(kept)
            self._cond.notify_all()

    async def close(self, last: agent_pb2.ConverseResponse | None = None, *, discard_media: bool) -> None:
        """No more input. The writer sends what is queued (media only unless discarded), then `last`."""
        async with self._cond:
            if self._closed:
                return
            self._closed = True
            self._last = last
            if discard_media:
                self._media.clear()
            self._cond.notify_all()

    def _merged_audio(self, first: agent_pb2.ConverseResponse) -> agent_pb2.ConverseResponse:
        """`first`, with the same utterance's audio queued right behind it: a gRPC write costs far more
        than its bytes, so chunks a slow write left waiting go as one (no delay when none wait)."""
        if first.WhichOneof("event") != "audio_out":
            return first
        utterance = first.audio_out.utterance_id
        if not self._media or first.audio_out.final:
            return self._numbered(first)
        chunks, final = [first.audio_out.audio], False
        while self._media and len(chunks) < MAX_CHUNKS_PER_WRITE and not final:
            following = self._media[0]
            if following.WhichOneof("event") != "audio_out" or following.audio_out.utterance_id != utterance:
                break
            self._media.popleft()
            chunks.append(following.audio_out.audio)
            final = following.audio_out.final
        if len(chunks) == 1:
            return self._numbered(first)
        merged = agent_pb2.AudioOut(audio=b"".join(chunks), utterance_id=utterance, final=final)
        return self._numbered(agent_pb2.ConverseResponse(audio_out=merged))

    def _numbered(self, response: agent_pb2.ConverseResponse) -> agent_pb2.ConverseResponse:
        out = response.audio_out
        if out.final:
            out.chunk_seq = self._chunk_seq.pop(out.utterance_id, 0)
        else:
            out.chunk_seq = self._chunk_seq.get(out.utterance_id, 0)
            self._chunk_seq[out.utterance_id] = out.chunk_seq + 1
        return response

    async def get(self) -> agent_pb2.ConverseResponse | None:
        """The next response to write, control first; None once closed and drained."""
        async with self._cond:
            await self._cond.wait_for(lambda: self._closed or self._control or self._media)
            if self._control:
                return self._control.popleft()
            if self._media:
                response = self._merged_audio(self._media.popleft())
                self._cond.notify_all()  # a producer may be waiting for room
                return response
            last, self._last = self._last, None
            return last
