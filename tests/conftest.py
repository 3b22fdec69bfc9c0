"""Fixtures that start the real gateway (and the agent service) as processes on port 0."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer
from tests.procs import ServerProcess, python_module

AUTH_TOKEN = "test-auth-token"
GatewayFactory = Callable[..., ServerProcess]
AgentProcess = ServerProcess
AgentFactory = Callable[..., ServerProcess]


def gateway_factory(data_dir: Path) -> tuple[GatewayFactory, list[ServerProcess]]:
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        base = {
            "PORT": "0",
            "BIND_HOST": "127.0.0.1",
            "WS_MODE": "ECHO",
            "TWILIO_AUTH_TOKEN": "",
            "LOG_LEVEL": "INFO",
            # Each gateway its own database: tests never share state through ./data.
            "DATABASE_URL": f"sqlite:///{data_dir}/gateway-{len(started)}.db",
        }
        proc = ServerProcess(python_module("voice_gateway"), {**base, **env}, "GATEWAY_LISTENING")
        started.append(proc)
        return proc.start()

    return start, started


@pytest.fixture
def start_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFactory]:
    """Start `python -m voice_gateway` with extra environment; every process is stopped afterwards."""
    start, started = gateway_factory(tmp_path_factory.mktemp("gateway"))
    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def echo_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ECHO-mode gateway without Twilio authentication, shared by a test module."""
    start, started = gateway_factory(tmp_path_factory.mktemp("gateway"))
    yield start()
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def signed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """An ECHO-mode gateway that demands Twilio signatures (token `AUTH_TOKEN`)."""
    start, started = gateway_factory(tmp_path_factory.mktemp("gateway"))
    yield start(TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    for proc in started:
        proc.stop()


@pytest.fixture
def start_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentFactory]:
    """Start `python -m agent_service` with extra environment; every process is stopped afterwards."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        base = {"AGENT_LISTEN": "127.0.0.1:0", "AGENT_PIPELINE": "echo", "LOG_LEVEL": "INFO"}
        # Chat memory is persisted; each agent gets a fresh data dir unless the test passes one.
        base["AGENT_DATA_DIR"] = str(tmp_path_factory.mktemp("agent-data"))
        proc = ServerProcess(python_module("agent_service"), {**base, **env}, "AGENT_LISTENING")
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def agent(start_agent: AgentFactory) -> ServerProcess:
    """An agent service running the echo pipeline with default settings."""
    return start_agent()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session, started the first time a test asks for it."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the shared server."""
    return postgres.create_database()
