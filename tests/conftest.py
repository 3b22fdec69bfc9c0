"""Fixtures that start the real gateway (and the agent service) as processes on port 0."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.procs import ServerProcess, python_module

AUTH_TOKEN = "test-auth-token"
GatewayFactory = Callable[..., ServerProcess]
AgentProcess = ServerProcess
AgentFactory = Callable[..., ServerProcess]


def _gateway_factory() -> tuple[GatewayFactory, list[ServerProcess]]:
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        base = {
            "PORT": "0",
            "BIND_HOST": "127.0.0.1",
            "WS_MODE": "ECHO",
            "TWILIO_AUTH_TOKEN": "",
            "LOG_LEVEL": "INFO",
        }
        proc = ServerProcess(python_module("voice_gateway"), {**base, **env}, "GATEWAY_LISTENING")
        started.append(proc)
        return proc.start()

    return start, started


@pytest.fixture
def start_gateway() -> Iterator[GatewayFactory]:
    """Start `python -m voice_gateway` with extra environment; every process is stopped afterwards."""
    start, started = _gateway_factory()
    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def echo_gateway() -> Iterator[ServerProcess]:
    """One ECHO-mode gateway without Twilio authentication, shared by a test module."""
    start, started = _gateway_factory()
    yield start()
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def signed_gateway() -> Iterator[ServerProcess]:
    """An ECHO-mode gateway that demands Twilio signatures (token `AUTH_TOKEN`)."""
    start, started = _gateway_factory()
    yield start(TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    for proc in started:
        proc.stop()


@pytest.fixture
def start_agent() -> Iterator[AgentFactory]:
    """Start `python -m agent_service` with extra environment; every process is stopped afterwards."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        base = {"AGENT_LISTEN": "127.0.0.1:0", "AGENT_PIPELINE": "echo", "LOG_LEVEL": "INFO"}
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
