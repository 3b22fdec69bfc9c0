"""AI mode now against an earlier commit, alternating fresh process pairs, so load from anything else on the
machine falls on both trees alike; optionally the two mixed (new gateway + old agent and the reverse).

Run: `.venv/bin/python -m bench.ab_ai --previous /tmp/wt --calls 50 --seconds 15 --rounds 2 --mixed`
(`/tmp/wt`: an earlier commit's checkout with its protos generated; see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

from bench.echo_capacity import (
    CLIENT_CORE,
    SERVER_CORE,
    cpu_seconds,
    pinned,
    previous_tree_env,
    tree_module,
)
from tests.procs import ROOT, ServerProcess, python_module


def run(previous: Path, agent_old: bool, gateway_old: bool, calls: int, seconds: float) -> str:
    old = previous_tree_env(previous)
    agent_env = {"AGENT_LISTEN": "127.0.0.1:0", "AGENT_MAX_CALLS": "10000", "LOG_LEVEL": "WARNING"}
    agent_env |= {"AGENT_PIPELINE": "echo"} | (old if agent_old else {})
    agent = ServerProcess(
        pinned(SERVER_CORE, tree_module("agent_service", previous if agent_old else None)),
        agent_env,
        "AGENT_LISTENING",
    )
    agent.start(60)
    env = {
        "PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "WS_MODE": "AI",
        "TWILIO_AUTH_TOKEN": "",
        "LOG_LEVEL": "WARNING",
    }
    env |= {"AGENT_ADDR": f"127.0.0.1:{agent.port}", "WS_START_TIMEOUT_S": "600", "MAX_CONCURRENT_CALLS": "0"}
    gateway = ServerProcess(
        pinned(SERVER_CORE, tree_module("voice_gateway", previous if gateway_old else None)),
        env | (old if gateway_old else {}),
        "GATEWAY_LISTENING",
    ).start()
    procs = [gateway, agent]
    try:
        before = [cpu_seconds(p.pid) for p in procs]
        started = time.perf_counter()
        url = f"ws://127.0.0.1:{gateway.port}/ws/twilio-media"
        argv = python_module("bench.loadgen", "--url", url, "--calls", str(calls), "--seconds", str(seconds))
        out = subprocess.run(pinned(CLIENT_CORE, argv), cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        cpu = " + ".join(
            f"{100 * (cpu_seconds(p.pid) - b) / wall:.0f}" for p, b in zip(procs, before, strict=True)
        )
    finally:
        gateway.stop()
        agent.stop()
    name = {(False, False): "now", (True, True): "previous"}.get(
        (agent_old, gateway_old),
        "new gateway + previous agent" if agent_old else "previous gateway + new agent",
    )
    return (
        f"| {name} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} | {figures['frames_lost']} | {cpu} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--previous", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mixed", action="store_true", help="also each service from the other tree")
    args = parser.parse_args()
    pairs = [(False, False), (True, True)] * args.rounds + (
        [(True, False), (False, True)] if args.mixed else []
    )
    print(
        f"| AI, {args.calls} calls | p50 ms | p99 ms | lost | CPU % gateway + agent |\n|---|---|---|---|---|"
    )
    for agent_old, gateway_old in pairs:
        print(run(args.previous, agent_old, gateway_old, args.calls, args.seconds), flush=True)


if __name__ == "__main__":
    main()
