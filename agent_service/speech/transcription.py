"""Speculative transcription per call, on the process's shared STT workers (workers.py).

`CallTranscriber` (one per call) starts a speculative transcription when the caller pauses, keyed by the
media time their speech stopped. When the turn ends at that same point, the speculation is the answer
(a hit: it may even be finished already); if the caller spoke again it is dropped before it starts, or
its result is ignored, and the turn's own audio is transcribed (a miss). A call has at most one
speculative decode: the next waits until the last one has left its worker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agent_service import metrics
from agent_service.speech.base import SpeechToText
from agent_service.speech.workers import Ticket, WorkerQueue
from agentlocator_common.telephone_audio import TELEPHONE_RATE, Pcm


@dataclass(slots=True)
class Transcription:
    """The text of one user turn, on its way."""

    task: asyncio.Task[str]
    ticket: Ticket
    speculative: str  # hit, miss, or off

    async def text(self) -> str:
        try:
            return await self.task
        except asyncio.CancelledError:
            self.task.cancel()
            raise


class CallTranscriber:
    def __init__(self, queue: WorkerQueue, stt: SpeechToText, *, speculate: bool) -> None:
        self._queue = queue
        self._stt = stt
        self.speculate_on = speculate
        self._guess: Transcription | None = None
        self._guess_end_ms = -1
        self._decoding: asyncio.Future[str] | None = None  # this call's last speculative decode

    def speculate(self, end_ms: int, pcm: Pcm) -> asyncio.Task[str] | None:
        """The caller paused at `end_ms`: transcribe what they said so far, in case that was all. The
        task (None when speculation is off) gives the text to whoever judges whether the turn is over;
        it is cancelled if the caller goes on."""
        if not self.speculate_on:
            return None
        self.drop()
        ticket = Ticket(final=False)
        previous = self._decoding
        loop = asyncio.get_running_loop()
        decoded: asyncio.Future[str] = loop.create_future()
        self._decoding = decoded

        async def work() -> str:
            text = await self._stt.transcribe(pcm, TELEPHONE_RATE)
            if not decoded.done():
                decoded.set_result(text)
            return text

        async def guess() -> str:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            try:
                return await self._queue.run(ticket, work)
            finally:
                if not decoded.done():
                    decoded.set_result("")

        self._guess = Transcription(loop.create_task(guess()), ticket, "hit")
        self._guess_end_ms = end_ms
        return self._guess.task

    def drop(self) -> None:
        """The caller went on speaking: the speculation no longer fits."""
        if self._guess is not None:
            metrics.SPECULATIVE_STT.labels("dropped").inc()
            self._guess.task.cancel()
            self._guess = None

    def take(self, end_ms: int, pcm: Pcm) -> Transcription:
        """The turn ended at `end_ms`: the speculation started there, or a transcription of `pcm` now."""
        guess, self._guess = self._guess, None
        if guess is not None and self._guess_end_ms == end_ms and not guess.task.cancelled():
            guess.ticket.final = True  # promoted: it now waits in turn order like any ended turn
            metrics.SPECULATIVE_STT.labels("hit").inc()
            return guess
        if guess is not None:
            metrics.SPECULATIVE_STT.labels("dropped").inc()
            guess.task.cancel()
        outcome = "miss" if self.speculate_on else "off"
        if self.speculate_on:
            metrics.SPECULATIVE_STT.labels("miss").inc()
        ticket = Ticket(final=True)
        task = asyncio.get_running_loop().create_task(
            self._queue.run(ticket, lambda: self._stt.transcribe(pcm, TELEPHONE_RATE))
        )
        return Transcription(task, ticket, outcome)

    def close(self) -> None:
        if self._guess is not None:
            self._guess.task.cancel()
            self._guess = None
