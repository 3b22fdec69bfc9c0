"""The two user tools as users run them: the call simulator and the deployment smoke test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.procs import ROOT, ServerProcess, python_module
from voice_gateway.wav import read_wav, wav_to_mulaw, write_pcm_wav

pytestmark = pytest.mark.integration


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_simulator_cli_records_the_echo_of_a_wav_at_any_rate(
    echo_gateway: ServerProcess, tmp_path: Path
) -> None:
    rate = 22050
    t = np.arange(rate) / rate
    source = tmp_path / "caller.wav"
    write_pcm_wav(source, (np.sin(2 * np.pi * 500 * t) * 9000).astype(np.int16), rate)
    reply = tmp_path / "reply.wav"
    base = f"http://127.0.0.1:{echo_gateway.port}"
    result = run(
        "-m",
        "voice_gateway.tools.simulate",
        "--base",
        base,
        "--wav",
        str(source),
        "--out",
        str(reply),
        "--fast",
        "--tail",
        "0.5",
        "--subprotocol",
        "audio.twilio.com",
    )
    assert result.returncode == 0, result.stderr
    assert "frames sent       50 (8000 bytes)" in result.stdout
    assert "frames received   50 (8000 bytes)" in result.stdout
    assert "Twilio warnings   0" in result.stdout
    heard, heard_rate = read_wav(reply)
    assert heard_rate == 8000
    sent = wav_to_mulaw(source)
    assert len(heard) >= len(sent)
    assert np.abs(heard).max() > 5000  # the tone came back, not silence


def test_the_smoke_test_passes_against_a_healthy_gateway(echo_gateway: ServerProcess) -> None:
    result = run("-m", "voice_gateway.tools.smoke", f"http://127.0.0.1:{echo_gateway.port}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 6
    assert "6 of 6 checks passed" in result.stdout


def test_the_smoke_test_names_the_twilio_error_a_broken_deployment_would_cause() -> None:
    broken = ServerProcess(python_module("tests.broken_gateway"), {"PORT": "0"}, "BROKEN_LISTENING").start()
    try:
        result = run("-m", "voice_gateway.tools.smoke", f"http://127.0.0.1:{broken.port}")
    finally:
        broken.stop()
    assert result.returncode == 1
    assert "31920" in result.stdout  # query string on the stream URL, and a subprotocol forced on the client
    assert "12100" in result.stdout  # the <Connect action> answered 204 with no TwiML
    assert "15003" in result.stdout  # the status callback answered 500
