"""Concurrent simulated Twilio calls against a Media Streams endpoint; prints JSON figures.

Each call connects (all calls connect first, then start together, so no call's backlog is a start-up
artefact), sends `connected` and `start`, then one 160-byte µ-law frame every 20 ms on an absolute
schedule, and echoes marks back as Twilio would. Round trip is measured by byte position: echoed byte k
belongs to sent frame k // 160, which stays right however the server re-chunks the audio.
Run: `python -m bench.loadgen --url ws://127.0.0.1:PORT/ws/twilio-media --calls 50 --seconds 30`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

FRAME = 160
FRAME_S = 0.020


@dataclass(slots=True)
class CallResult:
    sent_frames: int = 0
    received_bytes: int = 0
    rtts_ms: list[float] = field(default_factory=list)
    wrong_sid: int = 0
    max_slip_ms: float = 0.0
    error: str = ""


async def run_call(
    url: str,
    seconds: float,
    gate: asyncio.Event,
    all_ready: asyncio.Event,
    ready: list[int],
    calls: int,
    result: CallResult,
) -> None:
    stream_sid, call_sid = "MZ" + secrets.token_hex(16), "CA" + secrets.token_hex(16)
    payloads = [base64.b64encode(os.urandom(FRAME)).decode() for _ in range(16)]
    frames = int(seconds / FRAME_S)
    send_times = np.zeros(frames)
    try:
        async with connect(url, compression=None, max_size=None, open_timeout=60) as ws:
            ready[0] += 1
            if ready[0] == calls:
                all_ready.set()
            await gate.wait()
            await ws.send(
                orjson.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}).decode()
            )
            start = {
                "accountSid": "AC" + "0" * 32,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {},
            }
            await ws.send(
                orjson.dumps(
                    {"event": "start", "sequenceNumber": "1", "start": start, "streamSid": stream_sid}
                ).decode()
            )
            done = asyncio.Event()
            # One sequence for the stream, shared by media and mark echoes, as Twilio numbers them.
            sequence = itertools.count(2)
            reader = asyncio.create_task(_read(ws, stream_sid, send_times, frames, result, done, sequence))
            t0 = time.perf_counter()
            for i in range(frames):
                due = t0 + i * FRAME_S
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    result.max_slip_ms = max(result.max_slip_ms, -delay * 1000)
                send_times[i] = time.perf_counter()
                media = {
                    "track": "inbound",
                    "chunk": str(i + 1),
                    "timestamp": str(i * 20),
                    "payload": payloads[i % 16],
                }
                await ws.send(
                    orjson.dumps(
                        {
                            "event": "media",
                            "sequenceNumber": str(next(sequence)),
                            "media": media,
                            "streamSid": stream_sid,
                        }
                    ).decode()
                )
                result.sent_frames += 1
            # Let in-flight echoes arrive: up to 5 s for the tail, then hang up like a caller would.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 5.0)
            await ws.send(
                orjson.dumps(
                    {
                        "event": "stop",
                        "sequenceNumber": str(next(sequence)),
                        "streamSid": stream_sid,
                        "stop": {"accountSid": "AC", "callSid": call_sid},
                    }
                ).decode()
            )
            reader.cancel()
    except (OSError, ConnectionClosed, TimeoutError) as exc:
        result.error = repr(exc)
        all_ready.set()  # a call that cannot connect must not hold the others at the gate


async def _read(
    ws: ClientConnection,
    sid: str,
    send_times: np.ndarray,
    frames: int,
    result: CallResult,
    done: asyncio.Event,
    sequence: Iterator[int],
) -> None:
    async for raw in ws:
        now = time.perf_counter()
        message = orjson.loads(raw)
        event = message.get("event")
        if message.get("streamSid") != sid:
            result.wrong_sid += 1
        if event == "media":
            size = len(base64.b64decode(message["media"]["payload"]))
            index = result.received_bytes // FRAME
            if index < frames and send_times[index]:
                result.rtts_ms.append((now - send_times[index]) * 1000)
            result.received_bytes += size
            if result.received_bytes >= frames * FRAME:
                done.set()
        elif event == "mark":
            number = str(next(sequence))
            mark = {"event": "mark", "sequenceNumber": number, "streamSid": sid, "mark": message["mark"]}
            await ws.send(orjson.dumps(mark).decode())


async def main(url: str, calls: int, seconds: float) -> dict[str, object]:
    """`url` may list several servers, comma-separated: the calls go to them in turn."""
    gate, all_ready, ready = asyncio.Event(), asyncio.Event(), [0]
    urls = url.split(",")
    results = [CallResult() for _ in range(calls)]
    tasks = [
        asyncio.create_task(run_call(urls[n % len(urls)], seconds, gate, all_ready, ready, calls, r))
        for n, r in enumerate(results)
    ]
    await all_ready.wait()
    started = time.perf_counter()
    cpu0 = time.process_time()
    gate.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    rtts = (
        np.array([x for r in results for x in r.rtts_ms]) if any(r.rtts_ms for r in results) else np.zeros(1)
    )
    sent = sum(r.sent_frames for r in results)
    received_frames = sum(r.received_bytes for r in results) // FRAME
    return {
        "calls": calls,
        "seconds": seconds,
        "frames_sent": sent,
        "frames_received": received_frames,
        "frames_lost": sent - received_frames,
        "p50_ms": float(np.percentile(rtts, 50)),
        "p99_ms": float(np.percentile(rtts, 99)),
        "max_ms": float(rtts.max()),
        "wrong_stream_sid": sum(r.wrong_sid for r in results),
        "max_send_slip_ms": max(r.max_slip_ms for r in results),
        "errors": [r.error for r in results if r.error][:5],
        "client_cpu_pct": 100 * (time.process_time() - cpu0) / wall,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="one URL, or several comma-separated (calls in turn)")
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    import uvloop

    figures = uvloop.run(main(args.url, args.calls, args.seconds))
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")
