"""Configuration: defaults, parsing, and a bad value stopping start-up with one line naming the variable."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from agent_service.settings import (
    STT_PROVIDERS,
    TTS_PROVIDERS,
    VAD_PROVIDERS,
    AgentSettings,
    SettingsError,
)
from agent_service.speech.registry import FACTORIES
from tests.procs import ROOT


def test_defaults_need_no_environment() -> None:
    settings = AgentSettings.from_env({})
    assert settings.listen == "127.0.0.1:50051"
    assert settings.pipeline == "conversation"  # the agent talks; `echo` is asked for by name
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


def test_settings_import_none_of_the_parts_they_configure() -> None:
    # The composition root and the registries import settings; an import back would be a cycle again.
    tree = ast.parse((ROOT / "agent_service" / "settings.py").read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agent_service")
    }
    assert imported == {"agent_service.knowledge"}  # a leaf itself: a bad file stops start-up here


def test_every_speech_provider_name_settings_accept_has_a_factory_and_no_other() -> None:
    assert {kind: set(names) for kind, names in FACTORIES.items()} == {
        "vad": set(VAD_PROVIDERS),
        "stt": set(STT_PROVIDERS),
        "tts": set(TTS_PROVIDERS),
    }
