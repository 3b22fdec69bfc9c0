"""The console's call search over a large call log: how long one page takes, by kind of search.

Seeds `--calls` calls (four transcript lines and two measured turns each) into a fresh database, then times
the history page's query (`CallLog.search`, 26 rows with their transcripts and turns) for: the newest page,
a number search (digits anywhere in the caller: a scan), a one-day range (the `ix_calls_started` index),
a number within a week, and the last page the console allows (page 400, offset 9,975). The baseline is the
query the history page ran before the search existed, `CallLog.recent(26)`, timed in the same run.

    .venv/bin/python -m bench.call_search --calls 100000
    .venv/bin/python -m bench.call_search --database-url postgresql://user:pw@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from voice_gateway.console.calls import MAX_PAGE, PAGE_SIZE
from voice_gateway.storage.calls import CallLog, CallQuery
from voice_gateway.storage.schema import call_transcripts, call_turns, calls, open_database

BATCH = 5000


async def seed(url: str, count: int) -> CallLog:
    engine = await open_database(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, count, BATCH):
        rows: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        turns: list[dict[str, Any]] = []
        for i in range(first, min(count, first + BATCH)):
            sid = f"CA{i:032x}"
            at = (start + timedelta(minutes=5 * i)).isoformat(timespec="microseconds")
            caller = f"+4477009{i % 100000:05d}"
            rows.append({"call_sid": sid, "stream_sid": "MZ" + sid[2:], "caller": caller, "started_at": at})
            for n, role in enumerate(("agent", "user", "agent", "user")):
                lines.append({"call_sid": sid, "role": role, "text": f"line {n} of call {i}", "at": at})
            for _ in range(2):
                stages = {
                    "endpointing_ms": 500,
                    "stt_ms": 150,
                    "llm_ms": 400,
                    "tts_ms": 120,
                    "total_ms": 1170,
                }
                turns.append({"call_sid": sid, "at": at, **stages})
        async with engine.begin() as conn:
            await conn.execute(insert(calls), rows)
            await conn.execute(insert(call_transcripts), lines)
            await conn.execute(insert(call_turns), turns)
    return CallLog(engine)


async def timed(run: Callable[[], Awaitable[object]], repeats: int) -> tuple[float, float]:
    took = []
    for _ in range(repeats):
        began = time.perf_counter()
        await run()
        took.append((time.perf_counter() - began) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.9) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--database-url", default="", help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/calls.db"
        began = time.perf_counter()
        log = await seed(url, args.calls)
        print(f"seeded {args.calls} calls in {time.perf_counter() - began:.1f} s ({url.split(':', 1)[0]})")
        middle = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=5 * args.calls // 2)
        day = middle.date()
        page = PAGE_SIZE + 1
        cases: dict[str, Callable[[], Awaitable[object]]] = {
            "baseline: recent(26), the old history page": lambda: log.recent(page),
            "newest page": lambda: log.search(CallQuery(limit=page)),
            "number (digits anywhere)": lambda: log.search(CallQuery(number="7700912345", limit=page)),
            "one day": lambda: log.search(
                CallQuery(
                    started_from=day.isoformat(),
                    started_before=(day + timedelta(days=1)).isoformat(),
                    limit=page,
                )
            ),
            "number within a week": lambda: log.search(
                CallQuery(
                    number="77009",
                    started_from=day.isoformat(),
                    started_before=(day + timedelta(days=7)).isoformat(),
                    limit=page,
                )
            ),
            f"page {MAX_PAGE} (offset {(MAX_PAGE - 1) * PAGE_SIZE})": lambda: log.search(
                CallQuery(offset=(MAX_PAGE - 1) * PAGE_SIZE, limit=page)
            ),
        }
        print(f"{'query':48} {'median ms':>10} {'p90 ms':>8}")
        for name, run in cases.items():
            median, p90 = await timed(run, args.repeats)
            print(f"{name:48} {median:10.1f} {p90:8.1f}")
        await log.close()


if __name__ == "__main__":
    asyncio.run(main())
