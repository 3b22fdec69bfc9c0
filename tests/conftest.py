"""Fixtures that start the real gateway (and the agent service) as processes on port 0."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.procs import ServerProcess, python_module

AUTH_TOKEN = "test-auth-token"
GatewayFactory = Callable[..., ServerProcess]


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
