"""The compose stack without Docker: the three services' own commands and environment, on loopback.

Each service is started exactly as docker-compose.yml says (command, env_file .env.example plus its
`environment:`), in depends_on order, with only the container layout translated to this machine:
listen addresses become 127.0.0.1 port 0, service names become the loopback port that service bound,
and /data volumes become temporary directories. Then each service's own healthcheck command runs.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer
from websockets.asyncio.client import connect

from tests.deploy.compose_file import Service, read_env_file, service
from tests.procs import ROOT, ServerProcess
from voice_gateway.twilio.media_streams import TwilioStream

pytestmark = pytest.mark.integration

BRIDGE_DIR = ROOT / "baileys-bridge"
EXECUTABLES = {"python": sys.executable, "node": shutil.which("node") or "node"}


def argv(command: list[str], cwd: Path) -> list[str]:
    # The image's WORKDIR holds what the command names relative paths against.
    program, *rest = command
    return [EXECUTABLES.get(program, program), *[str(cwd / a) if a.endswith(".js") else a for a in rest]]


def free_loopback_port() -> int:
    # Only for the one circular reference (gateway -> bridge URL, bridge -> gateway webhook): the bridge's
    # port must be known before the gateway starts, as compose knows it by name.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthcheck(svc: Service, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv(svc.healthcheck, ROOT),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,  # a hang guard only; compose gives each check 5 s
    )


class Stack:
    def __init__(self, tmp_path: Path, overrides: dict[str, str]) -> None:
        self.tmp = tmp_path
        self.dotenv = {**read_env_file(), **overrides}
        self.procs: dict[str, ServerProcess] = {}
        self.env: dict[str, dict[str, str]] = {}

    def start(self, name: str, cwd: Path, marker: str, translate: dict[str, str]) -> ServerProcess:
        svc = service(name, self.dotenv)
        unknown = set(translate) - set(svc.environment)
        assert not unknown, f"{name}: compose no longer sets {unknown}"
        env = {**svc.environment, **translate}
        proc = ServerProcess(argv(svc.command, cwd), env, marker)
        self.procs[name] = proc
        self.env[name] = env
        proc.start()
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs.values()):
            proc.stop()


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    running = Stack(tmp_path, getattr(request, "param", {}))
    yield running
    running.stop()


def agent_on_loopback(stack: Stack) -> dict[str, str]:
    return {
        "AGENT_LISTEN": "127.0.0.1:0",
        "AGENT_METRICS_LISTEN": "127.0.0.1:0",
        "AGENT_DATA_DIR": str(stack.tmp / "data" / "agent"),
    }


def start_all(stack: Stack) -> None:
    agent = stack.start("agent", ROOT, "AGENT_LISTENING", agent_on_loopback(stack))
    stack.env["agent"]["AGENT_LISTEN"] = f"127.0.0.1:{agent.port}"
    bridge_port = free_loopback_port()
    gateway = stack.start(
        "gateway",
        ROOT,
        "GATEWAY_LISTENING",
        {
            "PORT": "0",
            "BIND_HOST": "127.0.0.1",
            "AGENT_ADDR": f"127.0.0.1:{agent.port}",
            "BAILEYS_BRIDGE_URL": f"http://127.0.0.1:{bridge_port}",
            "DATABASE_URL": f"sqlite:///{stack.tmp / 'data' / 'agentlocator.db'}",
        },
    )
    stack.env["gateway"]["PORT"] = str(gateway.port)
    if not (BRIDGE_DIR / "src" / "index.js").is_file() or not (BRIDGE_DIR / "node_modules").is_dir():
        pytest.skip("baileys-bridge is not installed yet (src/index.js and node_modules are needed)")
    stack.start(
        "baileys-bridge",
        BRIDGE_DIR,
        "BRIDGE_LISTENING",
        {
            "BRIDGE_HOST": "127.0.0.1",
            "BRIDGE_PORT": str(bridge_port),
            "BRIDGE_DATA_DIR": str(stack.tmp / "data" / "baileys"),
            "BRIDGE_WEBHOOK_URL": f"http://127.0.0.1:{gateway.port}/webhook/whatsapp/baileys",
        },
    )


def assert_every_healthcheck_passes(stack: Stack) -> None:
    for name, env in stack.env.items():
        result = healthcheck(service(name, stack.dotenv), env)
        assert result.returncode == 0, f"{name} healthcheck failed:\n{result.stdout}{result.stderr}"


def test_the_three_compose_services_start_from_their_compose_commands_and_pass_their_healthchecks(
    stack: Stack,
) -> None:
    start_all(stack)
    assert set(stack.procs) == {"agent", "gateway", "baileys-bridge"}
    assert_every_healthcheck_passes(stack)


@pytest.mark.parametrize("stack", [{"WS_MODE": "AI"}], indirect=True)
def test_in_ai_mode_the_gateway_is_ready_through_the_agent_address_compose_gives_it(stack: Stack) -> None:
    start_all(stack)
    assert_every_healthcheck_passes(stack)
    gateway = stack.procs["gateway"]
    ready = httpx.get(f"http://127.0.0.1:{gateway.port}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["dependencies"]["agent"]["ready"] is True


def test_a_healthcheck_fails_when_its_service_is_down(stack: Stack) -> None:
    start_all(stack)
    stack.procs["agent"].stop()
    result = healthcheck(service("agent", stack.dotenv), stack.env["agent"])
    assert result.returncode != 0


def test_the_agent_serves_prometheus_metrics_on_its_metrics_port(stack: Stack) -> None:
    start_all(stack)
    line = stack.procs["agent"].wait_for("AGENT_METRICS_LISTENING")
    match = re.search(r"port=(\d+)", line)
    assert match is not None
    scraped = httpx.get(f"http://127.0.0.1:{match.group(1)}/metrics", timeout=30)
    assert scraped.status_code == 200
    assert "agentlocator_agent_active_calls 0.0" in scraped.text


class ServiceNames(BaseResolver):  # type: ignore[misc]  # dnslib ships no types
    """Compose's embedded DNS in miniature: a service name answers with every replica's address."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = records

    def resolve(self, request: object, handler: object) -> object:
        reply = request.reply()  # type: ignore[attr-defined]
        question = request.q  # type: ignore[attr-defined]
        name = str(question.qname).rstrip(".")
        if QTYPE[question.qtype] == "A":
            for address in self.records.get(name, []):
                reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=5))
        return reply


@pytest.fixture
def compose_dns() -> Iterator[tuple[int, dict[str, list[str]]]]:
    records: dict[str, list[str]] = {}
    server = DNSServer(
        ServiceNames(records), port=0, address="127.0.0.1", logger=DNSLogger("-request,-reply")
    )
    server.start_thread()
    yield int(server.server.server_address[1]), records
    server.stop()
    server.server.server_close()  # stop() only ends the serving thread


async def test_scale_agent_3_spreads_calls_over_every_replica_behind_the_one_service_name(
    stack: Stack, compose_dns: tuple[int, dict[str, list[str]]]
) -> None:
    # `--scale agent=3`: three containers, one port each, one DNS name. Here: three loopback addresses.
    dns_port, records = compose_dns
    first = stack.start("agent", ROOT, "AGENT_LISTENING", agent_on_loopback(stack))
    replicas = [first]
    for address in ("127.0.0.2", "127.0.0.3"):
        env = {**stack.env["agent"], "AGENT_LISTEN": f"{address}:{first.port}"}
        replica = ServerProcess(first.argv, env, "AGENT_LISTENING")
        replicas.append(replica.start())
        stack.procs[f"agent@{address}"] = replica
    records["agent"] = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    compose_addr = service("gateway", stack.dotenv).environment["AGENT_ADDR"]
    assert compose_addr == "agent:50051"
    gateway = stack.start(
        "gateway",
        ROOT,
        "GATEWAY_LISTENING",
        {
            "PORT": "0",
            "BIND_HOST": "127.0.0.1",
            "WS_MODE": "AI",
            # The same name, resolved by the stand-in for compose's DNS instead of the system resolver.
            "AGENT_ADDR": f"dns://127.0.0.1:{dns_port}/agent:{first.port}",
            "DATABASE_URL": f"sqlite:///{stack.tmp / 'agentlocator.db'}",
        },
    )
    for number in range(1, 31):
        if all(replica.matching("CALL_START") for replica in replicas):
            break
        stream = TwilioStream(f"MZ{number:032d}", f"CA{number:032d}", "AC" + "0" * 32)
        async with connect(f"ws://127.0.0.1:{gateway.port}/ws/twilio-media") as ws:
            await ws.send(stream.connected())
            await ws.send(stream.start({}))
            await ws.send(stream.stop())
        await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call=CA{number:032d}")
    took_calls = [len(replica.matching("CALL_START")) for replica in replicas]
    assert all(took_calls), f"calls per replica: {took_calls}"
