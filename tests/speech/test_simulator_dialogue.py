"""The simulator's CLI holds a conversation: `--wav` is the caller's first turn, each `--then` the next,
said once the agent's answer has played, and the printed conversation shows what the real agent heard."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from agent_service.speech.piper_tts import PiperTts
from tests.conftest import AgentFactory, GatewayFactory
from tests.procs import ROOT
from tests.speech.conftest import line_noise, telephone
from voice_gateway.wav import write_mulaw_wav

pytestmark = pytest.mark.integration


async def test_each_then_wav_is_the_callers_next_turn_and_the_agent_answers_it(
    tmp_path: Path, piper: PiperTts, start_agent: AgentFactory, start_gateway: GatewayFactory
) -> None:
    agent = start_agent(AGENT_PIPELINE="conversation", AGENT_GREETING="Hello, how can I help?")
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}")
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    write_mulaw_wav(first, line_noise(2.5) + telephone(piper, "Do you treat children?"))
    write_mulaw_wav(second, telephone(piper, "Where are you located?", seed=3))
    argv = [
        sys.executable, "-m", "voice_gateway.tools.simulate", "--base", f"http://127.0.0.1:{gateway.port}",
        "--wav", str(first), "--then", str(second), "--tail", "4",
    ]  # fmt: skip
    run = await asyncio.to_thread(subprocess.run, argv, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    heard = [line.removeprefix("agent heard: ") for line in run.stdout.splitlines() if "agent heard" in line]
    assert [line.lower().rstrip("?.") for line in heard] == ["do you treat children", "where are you located"]
    said = run.stdout.split("agent heard: Where are you located?", 1)[1]
    assert "Harbour Street" in said, run.stdout
