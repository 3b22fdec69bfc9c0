"""Echo capacity and gRPC hop cost: N concurrent real-time calls against four servers, in one run.

- `bare`:           the baseline, a bare `websockets` echo (bench/bare_echo.py);
- `echo-hypercorn`: our gateway in WS_MODE=ECHO with WS_SERVER=hypercorn (Hypercorn parses the frames);
- `echo`:           our gateway in WS_MODE=ECHO, default WS_SERVER=websockets (the fast path);
- `ai`:             our gateway in WS_MODE=AI with the agent service's `echo` pipeline
                    (gateway → gRPC → agent → back);
- `ai-split`:       the same with the agent pinned to the load generator's core instead of the gateway's
                    (not in the default set: it shows what sharing one core costs the hop);
- `echo-pg`:        `echo` with DATABASE_URL on PostgreSQL (a throwaway server, tests/postgres.py): the
                    shared lines, heartbeat and LISTEN/NOTIFY of several gateways (voice_gateway/cluster);
- `echo-2gw`:       two such gateways on one PostgreSQL, the calls alternating between them, both pinned to
                    the server core (the same CPU as one: what splitting costs, not what a second core gives).
With `--previous TREE` (a checkout of an earlier commit with its protos generated, see
docs/benchmarks.md) each of our servers also runs from that tree as `NAME@prev`, in the same run.
Every (server, N) run gets fresh server processes pinned to core 0, the load generator pinned to core 1.
Server CPU is read from /proc (utime+stime over the load window); RSS is the peak (VmHWM).
Run: `.venv/bin/python -m bench.echo_capacity --calls 1,25,50,100,200 --seconds 30`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.procs import ROOT, ServerProcess, python_module

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVER_CORE, CLIENT_CORE = "0", "1"


def pinned(core: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else argv


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def previous_tree_env(tree: Path) -> dict[str, str]:
    """Run the gateway and agent from `tree` (an earlier commit) with that commit's generated protos."""
    return {"PYTHONPATH": f"{tree}{os.pathsep}{tree / '.generated'}"}


def tree_module(module: str, tree: Path | None) -> list[str]:
    """`python -m module`, from `tree` (with previous_tree_env) or from this checkout when None. Under
    `-m` the working directory (this checkout) comes first on sys.path, ahead of PYTHONPATH, so an
    earlier tree's modules would never be imported; here the tree is put first."""
    if tree is None:
        return python_module(module)
    code = (
        f"import runpy, sys; sys.path[0] = {str(tree)!r}; runpy.run_module({module!r}, run_name='__main__')"
    )
    return [sys.executable, "-c", code]


_POSTGRES: list[object] = []  # one throwaway PostgreSQL for the whole run, started when first needed


def postgres_url() -> str:
    from tests.postgres import PostgresServer  # only the echo-pg and echo-2gw servers need it

    if not _POSTGRES:
        _POSTGRES.append(PostgresServer().start())
    server = _POSTGRES[0]
    assert isinstance(server, PostgresServer)
    return server.create_database()


@contextmanager
def servers(kind: str, previous: Path | None = None) -> Iterator[tuple[str, list[ServerProcess]]]:
    procs: list[ServerProcess] = []
    kind, _, from_previous = kind.partition("@")
    code: dict[str, str] = previous_tree_env(previous) if from_previous and previous else {}
    tree = previous if from_previous else None
    if from_previous and previous is None:
        raise ValueError(f"{kind}@{from_previous} needs --previous TREE")
    try:
        if kind == "bare":
            bare = ServerProcess(
                pinned(SERVER_CORE, python_module("bench.bare_echo")), {}, "BARE_ECHO_LISTENING"
            ).start()
            procs.append(bare)
            yield f"ws://127.0.0.1:{bare.port}/", procs
            return
        env = {
            "PORT": "0",
            "BIND_HOST": "127.0.0.1",
            "WS_MODE": "ECHO",
            "TWILIO_AUTH_TOKEN": "",
            "LOG_LEVEL": "WARNING",
            # loadgen opens every socket before any sends `start` (so all calls begin together); a big
            # run takes longer than the default 10 s to open them all.
            "WS_START_TIMEOUT_S": "600",
            # Its calls never pass /incoming_call; past twice the cap a `start` would be refused.
            "MAX_CONCURRENT_CALLS": "0",
        }
        if kind == "echo-hypercorn":
            env["WS_SERVER"] = "hypercorn"
        if kind in ("echo-pg", "echo-2gw"):
            env["DATABASE_URL"] = postgres_url()
        if kind == "echo-2gw":
            urls = []
            for n in range(2):
                gateway = ServerProcess(
                    pinned(SERVER_CORE, tree_module("voice_gateway", tree)),
                    env | code | {"GATEWAY_ID": f"bench-{n}"},
                    "GATEWAY_LISTENING",
                )
                procs.append(gateway.start())
                urls.append(f"ws://127.0.0.1:{gateway.port}/ws/twilio-media")
            yield ",".join(urls), procs
            return
        if kind in ("ai", "ai-split"):
            agent_core = CLIENT_CORE if kind == "ai-split" else SERVER_CORE
            agent_env = {
                "AGENT_LISTEN": "127.0.0.1:0",
                "AGENT_PIPELINE": "echo",  # the default talks; this measures the transport
                "AGENT_MAX_CALLS": "10000",
                "LOG_LEVEL": "WARNING",
            }
            agent = ServerProcess(
                pinned(agent_core, tree_module("agent_service", tree)), agent_env | code, "AGENT_LISTENING"
            )
            procs.append(agent.start())
            env |= {"WS_MODE": "AI", "AGENT_ADDR": f"127.0.0.1:{agent.port}"}
        gateway = ServerProcess(
            pinned(SERVER_CORE, tree_module("voice_gateway", tree)), env | code, "GATEWAY_LISTENING"
        ).start()
        procs.insert(0, gateway)
        yield f"ws://127.0.0.1:{gateway.port}/ws/twilio-media", procs
    finally:
        for proc in procs:
            proc.stop()


def run_one(kind: str, calls: int, seconds: float, previous: Path | None = None) -> dict[str, object]:
    with servers(kind, previous) as (url, procs):
        before = [cpu_seconds(p.pid) for p in procs]
        started = time.perf_counter()
        argv = pinned(
            CLIENT_CORE,
            python_module("bench.loadgen", "--url", url, "--calls", str(calls), "--seconds", str(seconds)),
        )
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=seconds * 4 + 120)
        wall = time.perf_counter() - started
        if out.returncode != 0:
            raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
        figures: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        cpu = [100 * (cpu_seconds(p.pid) - b) / wall for p, b in zip(procs, before, strict=True)]
        figures |= {
            "server": kind,
            "server_cpu_pct": cpu,  # gateway first, then the agent (ai) or the second gateway (echo-2gw)
            "server_cpu_pct_total": sum(cpu),
            "cpu_pct_per_call": sum(cpu) / calls,
            "rss_peak_mb": [peak_rss_mb(p.pid) for p in procs],
        }
        return figures


def _tree(row: dict[str, object]) -> str:
    return str(row["server"]).partition("@")[2]


def table(rows: list[dict[str, object]]) -> str:
    baseline = {r["calls"]: r for r in rows if r["server"] == "bare"}
    echo = {(r["calls"], _tree(r)): r for r in rows if str(r["server"]).partition("@")[0] == "echo"}
    lines = [
        "| server | calls | p50 ms | p99 ms | max ms | lost frames | server CPU % of a core | CPU/call %"
        " | peak RSS MB | p99 ÷ bare | CPU ÷ bare | hop p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base, same_echo = baseline.get(r["calls"]), echo.get((r["calls"], _tree(r)))
        p99_ratio = f"{r['p99_ms'] / base['p99_ms']:.2f}" if base and r is not base else "—"  # type: ignore[operator]
        cpu_ratio = (
            f"{r['server_cpu_pct_total'] / base['server_cpu_pct_total']:.2f}"  # type: ignore[operator]
            if base and r is not base and base["server_cpu_pct_total"]
            else "—"
        )
        is_ai = str(r["server"]).startswith("ai")
        hop = f"{r['p50_ms'] - same_echo['p50_ms']:+.2f}" if is_ai and same_echo else "—"  # type: ignore[operator]
        cpu = " + ".join(f"{c:.0f}" for c in r["server_cpu_pct"])  # type: ignore[attr-defined]
        rss = " + ".join(f"{m:.0f}" for m in r["rss_peak_mb"])  # type: ignore[attr-defined]
        lines.append(
            f"| {r['server']} | {r['calls']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.0f} | "
            f"{r['frames_lost']} | {cpu} | {r['cpu_pct_per_call']:.2f} | {rss} | "
            f"{p99_ratio} | {cpu_ratio} | {hop} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", default="1,25,50,100,200")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--servers", default="bare,echo-hypercorn,echo,ai")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--previous", type=Path, help="an earlier commit's checkout: adds NAME@prev for each of our servers"
    )
    args = parser.parse_args()
    try:
        run(args)
    finally:
        for server in _POSTGRES:
            server.stop()  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> None:
    kinds = args.servers.split(",")
    if args.previous:
        kinds += [f"{kind}@prev" for kind in kinds if kind != "bare" and "@" not in kind]
    rows = []
    for calls in (int(n) for n in args.calls.split(",")):
        for kind in kinds:
            row = run_one(kind, calls, args.seconds, args.previous)
            rows.append(row)
            print(
                f"{kind:14} {calls:4} calls: p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
                f"lost {row['frames_lost']}, server CPU {row['server_cpu_pct_total']:.0f}%",
                file=sys.stderr,
                flush=True,
            )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.seconds:.0f} s calls, 20 ms µ-law frames in real time"
    )
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
