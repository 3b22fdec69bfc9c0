"""`start_all.sh` (what `make run` and the Procfile run) starts the stack and stops all of it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.procs import ROOT, ServerProcess

pytestmark = pytest.mark.integration


def test_start_all_runs_the_stack_in_echo_mode_and_sigterm_stops_all_of_it(tmp_path: Path) -> None:
    env = {
        "PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "AGENT_LISTEN": "127.0.0.1:0",
        "BRIDGE_PORT": "0",
        "BRIDGE_DATA_DIR": str(tmp_path / "baileys"),
        "WS_MODE": "",
    }
    stack = ServerProcess(["bash", "start_all.sh"], env, "GATEWAY_LISTENING").start()
    try:
        stack.wait_for("AGENT_LISTENING")
        stack.wait_for("pipeline=conversation")  # the agent talks unless AGENT_PIPELINE=echo asks otherwise
        stack.wait_for("BRIDGE_LISTENING")  # `make install` installed the sidecar, so it runs too
        assert "mode=ECHO" in stack.wait_for("GATEWAY_LISTENING")  # WS_MODE defaults to ECHO
        assert httpx.get(f"http://127.0.0.1:{stack.port}/healthz").json() == {"status": "ok"}
    finally:
        stack.signal(signal.SIGTERM)
        code = stack.wait_exit(30)
    assert code == 0
    stack.wait_for("GATEWAY_STOPPED")
    stack.wait_for("BRIDGE_STOPPED")
    assert any(re.search(r"agent_service.*(stopped|shut)", line, re.I) for line in stack.lines), stack.lines[
        -10:
    ]


def test_start_all_stops_everything_when_one_process_dies(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "AGENT_LISTEN": "127.0.0.1:0",
        "BRIDGE_PORT": "0",
        "BRIDGE_DATA_DIR": str(tmp_path / "baileys"),
        "AGENT_PIPELINE": "nope",
    }
    result = subprocess.run(
        ["bash", "start_all.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "AGENT_PIPELINE='nope'" in result.stderr
    assert "start_all: a process exited (status 2); stopping the rest" in result.stderr
