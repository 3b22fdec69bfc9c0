"""Configuration: defaults, parsing, and a bad value stopping start-up with one line naming the variable."""

from __future__ import annotations

import ast
import re
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
    def imports(module: str) -> set[str]:
        tree = ast.parse((ROOT / "agent_service" / f"{module}.py").read_text(encoding="utf-8"))
        return {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agent_service")
        }

    # The knowledge loader is a leaf itself: a bad file stops start-up here. The calendar's and the turns'
    # settings are read by modules of their own, leaves too, and so are the converters all three share.
    assert imports("settings") == {
        "agent_service.knowledge",
        "agent_service.settings_calendar",
        "agent_service.settings_turns",
        "agent_service.settings_values",
    }
    assert imports("settings_calendar") == {
        "agent_service.knowledge.opening",
        "agent_service.settings_values",
    }
    assert imports("settings_turns") == {"agent_service.settings_values"}
    assert imports("settings_values") == set()


def test_every_speech_provider_name_settings_accept_has_a_factory_and_no_other() -> None:
    assert {kind: set(names) for kind, names in FACTORIES.items()} == {
        "vad": set(VAD_PROVIDERS),
        "stt": set(STT_PROVIDERS),
        "tts": set(TTS_PROVIDERS),
    }


def test_the_calendar_settings_are_read_and_checked() -> None:
    settings = AgentSettings.from_env(
        {
            "CALENDAR_URL": "https://cloud.example/remote.php/dav/calendars/clinic/appointments/",
            "CALENDAR_USERNAME": "clinic",
            "CALENDAR_PASSWORD": "app-password",
            "CALENDAR_TIMEOUT_S": "4",
            "BUSINESS_TIMEZONE": "America/New_York",
            "AGENT_DATABASE_URL": "postgresql://agent:pw@db:5432/agent",
        }
    ).calendar
    assert (settings.url, settings.username, settings.timeout_s) == (
        "https://cloud.example/remote.php/dav/calendars/clinic/appointments/",
        "clinic",
        4.0,
    )
    assert settings.business_timezone == "America/New_York" and "app-password" not in repr(settings)
    assert AgentSettings.from_env({}).calendar.url == ""  # unset: the embedded calendar


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("CALENDAR_URL", "cloud.example/dav", "http:// or https://"),
        ("CALENDAR_TIMEOUT_S", "0", "more than 0"),
        ("BUSINESS_TIMEZONE", "London", "not an IANA time zone"),
        ("AGENT_DATABASE_URL", "mysql://db/agent", "sqlite:///path or postgresql://"),
    ],
)
def test_a_bad_calendar_setting_names_the_variable(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as raised:
        AgentSettings.from_env({name: value})
    assert str(raised.value).startswith(f"{name}=") and problem in str(raised.value)


def test_the_turn_settings_are_read_and_their_defaults_are_the_measured_ones() -> None:
    default = AgentSettings.from_env({}).turns
    assert (default.pause_ms, default.speculative_stt, default.end_of_turn) == (300, True, "text")
    assert (default.stt_workers, default.stt_window_s, default.tts_workers) == (2, 15.0, 1)
    assert default.tts_cache_sentences == 256
    turns = AgentSettings.from_env(
        {
            "AGENT_PAUSE_MS": "150",
            "AGENT_SPECULATIVE_STT": "false",
            "AGENT_END_OF_TURN": "smart-turn",
            "AGENT_END_OF_TURN_THRESHOLD": "0.7",
            "AGENT_COMPLETE_HANGOVER_MS": "250",
            "AGENT_INCOMPLETE_HANGOVER_MS": "3000",
            "STT_WORKERS": "4",
            "STT_WINDOW_S": "0",
            "TTS_WORKERS": "2",
            "TTS_CACHE_SENTENCES": "0",
        }
    ).turns
    assert (turns.pause_ms, turns.speculative_stt, turns.end_of_turn, turns.end_of_turn_threshold) == (
        150,
        False,
        "smart-turn",
        0.7,
    )
    assert (turns.complete_hangover_ms, turns.incomplete_hangover_ms) == (250, 3000)
    assert (turns.stt_workers, turns.stt_window_s, turns.tts_workers) == (4, 0.0, 2)
    assert turns.tts_cache_sentences == 0


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("AGENT_PAUSE_MS", "-1", "0..5000 ms"),
        ("AGENT_SPECULATIVE_STT", "maybe", "true or false"),
        ("AGENT_END_OF_TURN", "vad", "known: text, silence, smart-turn"),
        ("AGENT_END_OF_TURN_THRESHOLD", "1.5", "between 0 and 1"),
        ("AGENT_COMPLETE_HANGOVER_MS", "0.2", "not an integer"),
        ("STT_WORKERS", "0", "1..64"),
        ("STT_WINDOW_S", "2", "0 (off) or 5..30"),
        ("TTS_CACHE_SENTENCES", "-1", "0..10000"),
    ],
)
def test_a_bad_turn_setting_names_the_variable(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}=.*{re.escape(problem)}"):
        AgentSettings.from_env({name: value})
