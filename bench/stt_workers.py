"""How many Whisper decodes at once, on how many threads each: STT_WORKERS × STT_THREADS on this machine.

N questions (the four of bench/turn_latency.py in turn, spoken by Piper over the 8 kHz µ-law line) are
handed to the agent's own WorkerQueue at the same moment, as N callers finishing together would, and
decoded by the embedded Whisper (15 s window, the knowledge's prompt) with `workers` CTranslate2 replicas
of `threads` intra-op threads each. Reported per combination and N: the median and worst time from
hand-over to text (what the last caller in a burst waits), and the decodes per second.
Run: `.venv/bin/python -m bench.stt_workers` (about 3 minutes here).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, load_knowledge
from agent_service.speech.hints import hints_for
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.whisper_stt import WhisperStt
from agent_service.speech.workers import Ticket, WorkerQueue
from agentlocator_common import telephone_audio
from bench.turn_latency import QUESTIONS
from tests.speech.conftest import line_noise, telephone


async def burst(stt: WhisperStt, queue: WorkerQueue, audio: list[telephone_audio.Pcm], n: int) -> list[float]:
    started = time.perf_counter()

    async def one(pcm: telephone_audio.Pcm) -> float:
        await queue.run(Ticket(final=True), lambda: stt.transcribe(pcm, telephone_audio.TELEPHONE_RATE))
        return time.perf_counter() - started

    return list(await asyncio.gather(*(one(audio[i % len(audio)]) for i in range(n))))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--combinations", default="1x1,1x2,2x1,2x2", help="WORKERSxTHREADS, comma-separated")
    parser.add_argument("--bursts", default="1,4,8")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    piper = PiperTts()
    audio = [
        telephone_audio.mulaw_decode(line_noise(0.2) + telephone(piper, q) + line_noise(0.3))
        for q in QUESTIONS
    ]
    hints = hints_for(load_knowledge(DEMO_KNOWLEDGE_FILE), "prompt")
    print("| workers × threads | burst | median ms | worst ms | decodes/s |")
    print("|---|---|---|---|---|")
    for combination in args.combinations.split(","):
        workers, threads = (int(v) for v in combination.split("x"))
        stt = WhisperStt(threads=threads, workers=workers, window_s=15, hints=hints)
        queue = WorkerQueue(workers)
        await burst(stt, queue, audio, workers)  # warm
        for n in [int(v) for v in args.bursts.split(",")]:
            done = [t for _ in range(args.repeat) for t in await burst(stt, queue, audio, n)]
            worst = [max(done[i : i + n]) for i in range(0, len(done), n)]
            rate = n / statistics.median(worst)
            print(
                f"| {workers} × {threads} | {n} | {1000 * statistics.median(done):.0f} | "
                f"{1000 * max(done):.0f} | {rate:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
