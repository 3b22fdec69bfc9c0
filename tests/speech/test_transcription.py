"""The shared STT budget and speculation per call, with an STT whose decodes end when the test says so."""

from __future__ import annotations

import asyncio

import numpy as np

from agent_service.speech.transcription import CallTranscriber
from agent_service.speech.workers import Ticket, WorkerQueue
from agentlocator_common.telephone_audio import Pcm


class HeldStt:
    """Each decode waits until `finish(n)`; it answers the audio's length, so tests see which was heard."""

    name = "held"

    def __init__(self) -> None:
        self.started: list[int] = []
        self.running = 0
        self.most_at_once = 0
        self._release: dict[int, asyncio.Event] = {}
        self._changed = asyncio.Condition()

    async def transcribe(self, pcm: Pcm, sample_rate: int) -> str:
        n = len(self.started)
        self.started.append(len(pcm))
        self._release[n] = asyncio.Event()
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        async with self._changed:
            self._changed.notify_all()
        try:
            await self._release[n].wait()
        finally:
            self.running -= 1
        return f"{len(pcm)} samples"

    async def until_started(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.started) >= count)

    def finish(self, n: int) -> None:
        self._release[n].set()


def audio(samples: int) -> Pcm:
    return np.zeros(samples, np.int16)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_no_more_than_the_workers_decode_at_once_and_each_waiter_gets_its_turn() -> None:
    stt, queue = HeldStt(), WorkerQueue(2)
    jobs = [
        asyncio.create_task(queue.run(Ticket(final=True), lambda n=n: stt.transcribe(audio(n), 8000)))
        for n in range(5)
    ]
    await stt.until_started(2)
    await settle()
    assert len(stt.started) == 2 and queue.waiting == 3
    for n in range(5):
        await stt.until_started(n + 1)
        stt.finish(n)
    assert await asyncio.gather(*jobs) == [f"{n} samples" for n in range(5)]
    assert stt.most_at_once == 2


async def test_ended_turns_go_before_guesses_and_older_before_newer() -> None:
    stt, queue = HeldStt(), WorkerQueue(1)
    busy = asyncio.create_task(queue.run(Ticket(final=True), lambda: stt.transcribe(audio(0), 8000)))
    await stt.until_started(1)
    guess = Ticket(final=False)  # asked first, but only a guess
    older, newer = Ticket(final=True), Ticket(final=True)
    newer.since, older.since = 20.0, 10.0
    tasks = [
        asyncio.create_task(queue.run(ticket, lambda n=n: stt.transcribe(audio(n), 8000)))
        for n, ticket in ((1, guess), (2, newer), (3, older))
    ]
    await settle()
    for n in range(4):
        await stt.until_started(n + 1)
        stt.finish(n)
    await asyncio.gather(busy, *tasks)
    assert stt.started == [0, 3, 2, 1]


async def test_a_caller_who_stops_waiting_frees_the_worker_only_when_its_decode_ends() -> None:
    stt, queue = HeldStt(), WorkerQueue(1)
    first = asyncio.create_task(queue.run(Ticket(final=False), lambda: stt.transcribe(audio(1), 8000)))
    await stt.until_started(1)
    first.cancel()
    second = asyncio.create_task(queue.run(Ticket(final=True), lambda: stt.transcribe(audio(2), 8000)))
    await settle()
    assert stt.started == [1]  # the worker is still decoding the abandoned one
    stt.finish(0)
    await stt.until_started(2)
    stt.finish(1)
    assert await second == "2 samples"
    assert stt.most_at_once == 1


async def test_a_guess_made_at_the_pause_the_turn_ended_at_is_its_transcript() -> None:
    stt = HeldStt()
    transcriber = CallTranscriber(WorkerQueue(1), stt, speculate=True)
    transcriber.speculate(1000, audio(9600))
    await stt.until_started(1)
    stt.finish(0)
    transcription = transcriber.take(1000, audio(12000))
    assert await transcription.text() == "9600 samples"
    assert transcription.speculative == "hit" and stt.started == [9600]


async def test_a_guess_the_caller_spoke_after_never_answers() -> None:
    stt = HeldStt()
    transcriber = CallTranscriber(WorkerQueue(1), stt, speculate=True)
    transcriber.speculate(1000, audio(9600))
    await stt.until_started(1)
    transcriber.drop()  # the caller went on speaking
    transcriber.speculate(2400, audio(20000))  # and paused again: waits for the first decode to end
    await settle()
    assert stt.started == [9600]
    stt.finish(0)
    await stt.until_started(2)
    transcription = transcriber.take(3000, audio(30000))  # the turn ended at yet another point
    stt.finish(1)
    await stt.until_started(3)
    stt.finish(2)
    assert await transcription.text() == "30000 samples"
    assert transcription.speculative == "miss"


async def test_without_speculation_every_turn_is_transcribed_once_it_has_ended() -> None:
    stt = HeldStt()
    transcriber = CallTranscriber(WorkerQueue(1), stt, speculate=False)
    transcriber.speculate(1000, audio(9600))
    transcription = transcriber.take(1000, audio(12000))
    await stt.until_started(1)
    stt.finish(0)
    assert await transcription.text() == "12000 samples"
    assert transcription.speculative == "off" and stt.started == [12000]
