"""One client cannot take every connection: caps per client address, in total, and at the fd limit."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import AUTH_TOKEN, GatewayFactory
from tests.procs import ServerProcess
from tests.server.wire import closed_by_server, connection, healthz_status, open_from, read_response

PARTIAL = b"GET / HTTP/1.1\r\nHost: x\r\n"  # a head that never ends: the connection stays open
ATTACKER, OTHER = "127.0.0.2", "127.0.0.3"


class Held:
    """Connections opened and left half-way through their request head."""

    def __init__(self) -> None:
        self.streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(self, port: int, source: str, count: int = 1) -> None:
        for _ in range(count):
            reader, writer = await open_from(port, source)
            self.streams.append((reader, writer))
            writer.write(PARTIAL)
            with contextlib.suppress(ConnectionError):  # refused: already closed by the server
                await writer.drain()

    async def release(self, count: int | None = None) -> None:
        """Half-close some; the server closes them at once, so their slots are free when this returns."""
        released, self.streams = self.streams[:count], self.streams[len(self.streams[:count]) :]
        for reader, writer in released:
            with contextlib.suppress(OSError):  # refused on arrival: the server has closed it already
                writer.write_eof()
            await closed_by_server(reader)
            writer.close()


@pytest.fixture
async def held() -> AsyncIterator[Held]:
    connections = Held()
    yield connections
    for _, writer in connections.streams:
        writer.close()


async def refused_status(port: int, source: str) -> int:
    """A connection past a cap is answered 503 before any request and closed."""
    async with connection(port, source) as (reader, _):
        status, _ = await read_response(reader)
        assert await closed_by_server(reader) == b""
        return status


async def refusals(port: int, reason: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    match = re.search(rf'^agentlocator_connections_refused_total{{reason="{reason}"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_one_address_past_its_per_client_cap_is_refused_503_and_others_are_served(
    start_gateway: GatewayFactory, held: Held
) -> None:
    gateway = start_gateway(MAX_CONNECTIONS_PER_CLIENT="3", HEADER_TIMEOUT_S="600")
    await held.open(gateway.port, ATTACKER, 3)
    assert await refused_status(gateway.port, ATTACKER) == 503
    assert await refused_status(gateway.port, ATTACKER) == 503
    assert await healthz_status(gateway.port, OTHER) == 200
    assert await refusals(gateway.port, "per_client") == 2
    # Logged once per client per minute, however often it is refused.
    assert len(gateway.matching(f"CONNECTION_REFUSED reason=per_client client={ATTACKER}")) == 1
    await held.release(1)
    assert await healthz_status(gateway.port, ATTACKER) == 200


async def test_past_the_total_cap_every_new_connection_is_refused_503(
    start_gateway: GatewayFactory, held: Held
) -> None:
    gateway = start_gateway(MAX_CONNECTIONS="3", MAX_CONNECTIONS_PER_CLIENT="0", HEADER_TIMEOUT_S="600")
    for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        await held.open(gateway.port, source)
    assert await refused_status(gateway.port, "127.0.0.5") == 503
    await held.release(1)
    assert await refusals(gateway.port, "total") == 1


def start_with_fd_limit(tmp_path: Path, soft: int, hard: int, **env: str) -> ServerProcess:
    code = (
        "import resource, runpy; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard})); "
        "runpy.run_module('voice_gateway', run_name='__main__', alter_sys=True)"
    )
    base = {
        "PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "WS_MODE": "ECHO",
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": f"sqlite:///{tmp_path}/gateway.db",
    }
    return ServerProcess([sys.executable, "-c", code], {**base, **env}, "GATEWAY_LISTENING").start()


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for proc in started:
        proc.stop()


def test_the_soft_file_descriptor_limit_is_raised_to_the_hard_limit_at_start_up(
    tmp_path: Path, processes: list[ServerProcess]
) -> None:
    gateway = start_with_fd_limit(tmp_path, 256, 1024)
    processes.append(gateway)
    limits = Path(f"/proc/{gateway.pid}/limits").read_text()
    assert re.search(r"^Max open files\s+1024\s+1024", limits, re.M), limits


async def test_at_the_fd_limit_new_connections_are_shed_and_the_gateway_recovers_when_they_go(
    tmp_path: Path, processes: list[ServerProcess], held: Held
) -> None:
    gateway = start_with_fd_limit(
        tmp_path,
        256,
        256,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        MAX_CONNECTIONS_PER_CLIENT="0",
        HEADER_TIMEOUT_S="600",
    )
    processes.append(gateway)
    await held.open(gateway.port, ATTACKER, 256)
    # Answered, not left in the accept queue: the process kept descriptors for its own work.
    assert await refused_status(gateway.port, OTHER) == 503
    assert await refusals_after_release(gateway, held) > 0
    url = f"http://127.0.0.1:{gateway.port}/incoming_call"
    form = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC1", "From": "+15005550006", "To": "+15005550001"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    async with httpx.AsyncClient() as http:
        answered = await http.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert answered.status_code == 200 and "<Connect" in answered.text


async def refusals_after_release(gateway: ServerProcess, held: Held) -> float:
    # Some of the 256 held ones were refused (and closed) by the server; the rest are released.
    await held.release()
    assert await healthz_status(gateway.port, OTHER) == 200
    return await refusals(gateway.port, "fd_limit")
