"""A shared budget of workers for the CPU-bound speech engines, served in turn order.

One queue per engine and process (conversation/calls.py): at most `workers` jobs run at once (Whisper
decodes, Piper sentences). Waiting ones go by their ticket: jobs someone is waiting for now (a turn that
has ended, the first sentence of an answer) before the rest (a speculative transcription, the later
sentences of an answer that is already playing), then the oldest first, so a burst of callers cannot
starve anyone and work that can wait never delays work that cannot. A job holds its worker until it
really ends, even if nobody wants its result any more: a thread in CTranslate2 or onnxruntime cannot be
stopped, and counting it as free would oversubscribe the cores.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

_order = itertools.count()


@dataclass(slots=True)
class Ticket:
    final: bool  # someone is waiting for the result now
    since: float = field(default_factory=time.monotonic)
    seq: int = field(default_factory=lambda: next(_order))
    waited_s: float = 0.0  # time spent waiting for a worker

    def key(self) -> tuple[bool, float, int]:
        return (not self.final, self.since, self.seq)


class WorkerQueue:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._busy = 0
        self._waiting: list[tuple[Ticket, asyncio.Future[None]]] = []

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def run(self, ticket: Ticket, work: Callable[[], Awaitable[T]]) -> T:
        """`work()` once a worker is free; cancelling the caller frees the worker only when work ends."""
        asked = time.monotonic()
        await self._acquire(ticket)
        ticket.waited_s = time.monotonic() - asked
        job: asyncio.Future[T] = asyncio.ensure_future(work())
        job.add_done_callback(self._finished)
        return await asyncio.shield(job)

    async def _acquire(self, ticket: Ticket) -> None:
        if self._busy < self.workers and not self._waiting:
            self._busy += 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((ticket, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # the worker was handed over just as the caller gave up
            else:
                self._waiting.remove((ticket, granted))
            raise

    def _finished(self, job: asyncio.Future[T]) -> None:
        if not job.cancelled():
            job.exception()  # retrieved here: the caller may have stopped waiting for it
        self._release()

    def _release(self) -> None:
        self._busy -= 1
        while self._waiting and self._busy < self.workers:
            best = min(self._waiting, key=lambda waiter: waiter[0].key())
            self._waiting.remove(best)
            if not best[1].done():
                self._busy += 1
                best[1].set_result(None)
