"""Configuration: defaults, parsing, and a bad value stopping start-up with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent_service.settings import AgentSettings, SettingsError
from tests.procs import ROOT


def test_defaults_need_no_environment() -> None:
    settings = AgentSettings.from_env({})
    assert settings.listen == "127.0.0.1:50051"
    assert settings.pipeline == "echo"
    assert settings.max_calls == 100
    assert settings.shutdown_grace_s == 5.0
    assert settings.echo_utterance_ms == 1000


def test_values_are_parsed_from_the_environment() -> None:
    settings = AgentSettings.from_env(
        {
            "AGENT_LISTEN": "[::]:0",
            "AGENT_MAX_CALLS": "3",
            "AGENT_SHUTDOWN_GRACE_S": "0.5",
            "AGENT_ECHO_UTTERANCE_MS": "200",
            "LOG_LEVEL": "debug",
        }
    )
    assert (settings.listen, settings.listen_host) == ("[::]:0", "[::]")
    assert (settings.max_calls, settings.shutdown_grace_s, settings.echo_utterance_ms) == (3, 0.5, 200)
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AGENT_LISTEN", "50051"),
        ("AGENT_LISTEN", "127.0.0.1:99999"),
        ("AGENT_PIPELINE", "nope"),
        ("AGENT_MAX_CALLS", "0"),
        ("AGENT_MAX_CALLS", "many"),
        ("AGENT_SHUTDOWN_GRACE_S", "-1"),
        ("AGENT_ECHO_UTTERANCE_MS", "1.5"),
        ("AGENT_KEEPALIVE_TIME_S", "nan"),
        ("AGENT_MAX_MESSAGE_BYTES", "0"),
        ("LOG_LEVEL", "chatty"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}="):
        AgentSettings.from_env({name: value})


def test_an_unknown_pipeline_stops_start_up_with_one_line_listing_the_known_ones() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent_service"],
        cwd=ROOT,
        env={"PATH": "", "AGENT_PIPELINE": "nope", "AGENT_LISTEN": "127.0.0.1:0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "AGENT_PIPELINE='nope'" in lines[0]
    assert "known: conversation, echo" in lines[0]
