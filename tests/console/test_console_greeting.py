"""The knowledge page's play button: the greeting spoken by the real agent's voice, as a caller hears it."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
from quart.typing import TestClientProtocol as Client

from agent_service.speech.whisper_stt import WhisperStt
from tests.console.test_console_auth import _settings, _sign_in
from tests.procs import ServerProcess
from tests.speech.conftest import words
from voice_gateway.app import create_app

pytestmark = pytest.mark.integration
GREETING = "/console/knowledge/greeting.wav"
OpenConsole = Callable[[str], Awaitable[Client]]


@pytest.fixture
async def console_for(tmp_path: Path) -> AsyncIterator[OpenConsole]:
    """Open the real app (ECHO mode) against an agent address, signed in as the operator."""
    apps = []

    async def open_console(agent_addr: str) -> Client:
        app = create_app(_settings(tmp_path, agent_addr=agent_addr))
        running = app.test_app()
        await running.__aenter__()
        apps.append(running)
        client = running.test_client()
        await _sign_in(client)
        return client

    yield open_console
    for running in apps:
        await running.__aexit__(None, None, None)


async def test_the_greeting_plays_as_telephone_audio_spoken_by_the_agents_voice(
    console_for: OpenConsole, agent: ServerProcess
) -> None:
    client = await console_for(f"127.0.0.1:{agent.port}")
    response = await client.get(GREETING)
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.content_type == "audio/wav"
    assert int(response.headers["X-Synthesis-Ms"]) >= 0
    with wave.open(io.BytesIO(await response.get_data())) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    assert len(pcm) > 8000  # over a second
    heard = await WhisperStt(threads=2).transcribe(pcm, 8000)
    assert {"thank", "calling", "help", "today"} <= set(words(heard)), heard
    agent.wait_for("SYNTHESIZED tts=piper")


async def test_with_the_agent_down_the_play_button_gets_a_503_naming_the_agent(
    console_for: OpenConsole,
) -> None:
    client = await console_for("127.0.0.1:9")
    response = await client.get(GREETING)
    assert response.status_code == 503
    body = await response.get_data(as_text=True)
    assert "the agent service at 127.0.0.1:9 did not answer (UNAVAILABLE)" in body
    metrics = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'agentlocator_console_greeting_previews_total{result="UNAVAILABLE"}' in metrics
    # The console keeps serving.
    assert (await client.get("/console/knowledge")).status_code == 200


async def test_the_greeting_recording_needs_a_signed_in_operator(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, agent_addr="127.0.0.1:9"))
    async with app.test_app() as running:
        response = await running.test_client().get(GREETING)
    assert response.status_code == 401
