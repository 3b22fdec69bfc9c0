"""Many talking callers at once, and the pause set, through the whole stack in real time.

Servers as in bench/turn_latency.py (the simulator as Twilio → the gateway in AI mode → the agent's
`conversation` pipeline on the embedded models, the receptionist brain), one pair per configuration, all
started first and then measured in turns, so each load level of each configuration sees the machine in
the same state as the others (this machine is shared).

- `--calls 1,4,8,12,16`: N calls at once; each hears the greeting, then asks one question (the four of
  bench/turn_latency.py in turn) a few hundred ms after the previous caller (`--stagger-ms`), then
  listens. Caller-measured: from the last frame of the question the caller sent to the first reply
  frame it received. Reported per configuration and N: p50, p90, p95, max over all rounds.
- `--pause-set`: the 32 requests of bench/pause_set.py, `--group` calls at a time. A **cut-off** is a
  reply frame reaching the caller before the last frame of their request was sent (the agent started
  talking inside the pause); **split** is a request the agent answered as more than one turn (a line
  taken back, i.e. repeated at the start of the next, is not counted); WER is over the user transcripts
  the gateway stored, taken-back lines left out.

Configurations: `today` (bench/turn_latency.TODAY), `new` (this checkout's defaults), `before-17` (the
defaults before issue 17), `uncached` (the defaults without the sentence cache), `smart-turn`;
`NAME@prev` runs NAME from `--previous TREE`; `NAME:VAR=VALUE+VAR=VALUE` adds settings (e.g.
`new:AGENT_HANGOVER_MS=700`). Run:
`.venv/bin/python -m bench.turn_load --configs today,new --calls 1,4,8,12,16 --rounds 2 --pause-set`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from agent_service.speech.piper_tts import PiperTts
from bench.pause_set import PausedRequest, pause_set, word_errors, words
from bench.turn_latency import BEFORE_17, QUESTIONS, TODAY, agent_and_gateway, last_speech_frame
from tests.speech.conftest import line_noise, telephone
from voice_gateway.storage.calls import CallLog
from voice_gateway.tools.simulate import CallOptions, simulate_call

LEAD_S, TAIL_S = 3.5, 6.0  # the greeting has played before anyone asks; time for the answer after
CONFIGS = {
    "today": {"LLM_PROVIDER": "receptionist", **TODAY},
    "new": {"LLM_PROVIDER": "receptionist"},
    "before-17": {"LLM_PROVIDER": "receptionist", **BEFORE_17},
    "uncached": {"LLM_PROVIDER": "receptionist", "TTS_CACHE_SENTENCES": "0"},
    "smart-turn": {"LLM_PROVIDER": "receptionist", "AGENT_END_OF_TURN": "smart-turn"},
}


@dataclass(frozen=True, slots=True)
class Heard:
    caller_ms: float | None  # last frame sent → first reply frame received
    user: list[str]  # the user transcripts the gateway stored
    stages: dict[str, int]


async def call(base: str, database: str, lead_s: float, speech: bytes, pause_ms: int | None = None) -> Heard:
    """One caller; a reply frame that arrives between `pause_ms` into `speech` and its end is a cut-off."""
    lead = line_noise(lead_s)
    audio = lead + speech + line_noise(TAIL_S)
    options = CallOptions(base_url=base, audio=audio, tail_s=2.0)
    report = await simulate_call(options)
    ended = report.send_times[last_speech_frame(audio)]
    replies = [t for t in report.receive_times if t > ended]
    caller_ms = (replies[0] - ended) * 1000 if replies else None
    # Frames of the reply that came before the caller finished: the agent talked inside the pause.
    early: list[float] = []
    if pause_ms is not None:
        paused_at = report.send_times[(len(lead) + pause_ms * 8) // 160]
        early = [t for t in report.receive_times if paused_at < t < ended]
    log = await CallLog.open(database)
    try:
        record = await log.get(options.call_sid)
    finally:
        await log.close()
    user = [text for role, text in record.transcript if role == "user"] if record else []
    stages = dict(record.turns[0]) if record is not None and record.turns else {}
    return Heard(-1.0 if early else caller_ms, user, stages)


def environment(name: str) -> dict[str, str]:
    base, _, extra = name.split("@")[0].partition(":")
    return CONFIGS[base] | dict(pair.split("=", 1) for pair in extra.split("+") if pair)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def load(
    base: str, database: str, n: int, stagger_ms: int, spoken: list[bytes], first: int = 0
) -> list[Heard]:
    """N callers, the i-th asking question first + i (so rounds of one call go through all of them)."""
    lead = [LEAD_S + i * stagger_ms / 1000 for i in range(n)]
    calls = [call(base, database, lead[i], spoken[(first + i) % len(spoken)]) for i in range(n)]
    return list(await asyncio.gather(*calls))


async def paused(base: str, database: str, requests: list[PausedRequest], group: int) -> list[Heard]:
    heard: list[Heard] = []
    for i in range(0, len(requests), group):
        batch = requests[i : i + group]
        heard += await asyncio.gather(
            *(call(base, database, LEAD_S + 0.3 * j, r.wire, r.pause_start_ms) for j, r in enumerate(batch))
        )
    return heard


def load_table(results: dict[tuple[str, int], list[float]]) -> str:
    lines = [
        "| configuration | calls | turns | p50 ms | p90 ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for (name, n), values in results.items():
        if not values:
            lines.append(f"| {name} | {n} | 0 | — | — | — | — |")
            continue
        p50, p90, p95 = (percentile(values, s) for s in (0.5, 0.9, 0.95))
        lines.append(
            f"| {name} | {n} | {len(values)} | {p50:.0f} | {p90:.0f} | {p95:.0f} | {max(values):.0f} |"
        )
    return "\n".join(lines)


def answered(user: list[str]) -> list[str]:
    """The caller's turns as answered: a line the next one repeats from its start was taken back (the
    caller went on before hearing the answer, and both parts were heard again together)."""
    kept: list[str] = []
    for line, after in zip(user, [*user[1:], ""], strict=True):
        earlier, later = words(line), words(after)
        if not (earlier and later[: len(earlier)] == earlier):
            kept.append(line)
    return kept


def pause_row(name: str, requests: list[PausedRequest], heard: list[Heard]) -> str:
    cut = sum(h.caller_ms == -1.0 for h in heard)
    split = sum(len(answered(h.user)) > 1 for h in heard)
    errors = [word_errors(r.text, " ".join(answered(h.user))) for r, h in zip(requests, heard, strict=True)]
    wer = 100 * sum(e for e, _ in errors) / sum(w for _, w in errors)
    replied = [h.caller_ms for h in heard if h.caller_ms is not None and h.caller_ms >= 0]
    median = f"{statistics.median(replied):.0f}" if replied else "—"
    n = len(heard)
    return f"| {name} | {cut} / {n} ({100 * cut / n:.1f} %) | {split} / {n} | {wer:.2f} % | {median} |"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", default="today,new")
    parser.add_argument("--calls", default="1,4,8,12,16")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each load level this many times")
    parser.add_argument("--stagger-ms", type=int, default=300)
    parser.add_argument("--pause-set", action="store_true")
    parser.add_argument("--group", type=int, default=4, help="pause-set calls at once")
    parser.add_argument("--previous", type=Path, help="an earlier checkout, for NAME@prev")
    args = parser.parse_args()
    names = args.configs.split(",")
    piper = PiperTts()
    spoken = [telephone(piper, q, seed=i) for i, q in enumerate(QUESTIONS)]
    requests = pause_set(piper) if args.pause_set else []
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(agent_and_gateway(name, environment(name), args.previous))
            for name in names
        }
        for name, (base, database) in servers.items():  # every model loaded before anything is measured
            await load(base, database, 1, 0, spoken)
            print(f"{name}: warm", file=sys.stderr, flush=True)
        results: dict[tuple[str, int], list[float]] = {}
        for round_ in range(args.rounds):
            for n in [int(v) for v in args.calls.split(",") if v]:
                for name, (base, database) in servers.items():
                    heard = await load(base, database, n, args.stagger_ms, spoken, first=round_)
                    values = [h.caller_ms for h in heard if h.caller_ms is not None and h.caller_ms >= 0]
                    results.setdefault((name, n), []).extend(values)
                    print(
                        f"round {round_} {name} {n} calls: {sorted(round(v) for v in values)}",
                        file=sys.stderr,
                    )
        print(load_table(results))
        if args.pause_set:
            print(
                "\n| configuration | talked inside the pause | answered as 2+ turns | WER | median reply ms |"
            )
            print("|---|---|---|---|---|")
            for name, (base, database) in servers.items():
                heard = await paused(base, database, requests, args.group)
                print(pause_row(name, requests, heard), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
