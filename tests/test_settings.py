"""Settings come from the environment once; a wrong value is one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.procs import ROOT
from voice_gateway.settings import Settings, SettingsError, WsMode


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.port == 8080 and settings.ws_mode is WsMode.ECHO
    assert settings.public_base_url is None and not settings.auth_enabled
    assert settings.call_token_secret_is_ephemeral
    assert settings.owner_whatsapp is None  # messages are stored and listed; nobody is sent a WhatsApp
    assert (settings.owner_notify_retry_min_s, settings.owner_notify_retry_max_s) == (5.0, 300.0)
    assert settings.owner_notify_max_attempts == 100


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"WS_MODE": "FOO"}, "WS_MODE='FOO'"),
        ({"PORT": "http"}, "PORT="),
        ({"PORT": "70000"}, "PORT="),
        ({"PUBLIC_BASE_URL": "voice.example.com"}, "PUBLIC_BASE_URL="),
        ({"PUBLIC_BASE_URL": "https://voice.example.com/?x=1"}, "query string"),
        ({"HANGUP_ON_STREAM_END": "maybe"}, "HANGUP_ON_STREAM_END="),
        ({"MAX_WS_FRAME_BYTES": "-1"}, "MAX_WS_FRAME_BYTES="),
        ({"HEADER_TIMEOUT_S": "0"}, "HEADER_TIMEOUT_S="),
        ({"KEEP_ALIVE_TIMEOUT_S": "soon"}, "KEEP_ALIVE_TIMEOUT_S="),
        ({"MAX_CONNECTIONS": "-1"}, "MAX_CONNECTIONS="),
        ({"MAX_CONNECTIONS_PER_CLIENT": "many"}, "MAX_CONNECTIONS_PER_CLIENT="),
        ({"OWNER_WHATSAPP": "07700 900123"}, "OWNER_WHATSAPP='07700 900123' is invalid: expected an E.164"),
        ({"OWNER_WHATSAPP": "+49 151 12345678"}, "OWNER_WHATSAPP="),
        ({"OWNER_NOTIFY_RETRY_MIN_S": "0"}, "OWNER_NOTIFY_RETRY_MIN_S="),
        ({"OWNER_NOTIFY_MAX_ATTEMPTS": "0"}, "OWNER_NOTIFY_MAX_ATTEMPTS="),
    ],
)
def test_a_wrong_value_names_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle.replace("?", r"\?")):
        Settings.from_env(env)


def test_public_base_url_loses_its_trailing_slash_so_paths_never_hold_a_double_slash() -> None:
    assert (
        Settings.from_env({"PUBLIC_BASE_URL": "https://voice.example.com/"}).public_base_url
        == "https://voice.example.com"
    )


def test_the_call_token_secret_falls_back_to_the_auth_token_so_gateways_agree() -> None:
    settings = Settings.from_env({"TWILIO_AUTH_TOKEN": "tok"})
    assert settings.call_token_secret == "tok" and not settings.call_token_secret_is_ephemeral


def test_the_gateway_refuses_to_start_with_a_one_line_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voice_gateway"],
        cwd=ROOT,
        env={"WS_MODE": "FOO", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "voice_gateway: configuration error: WS_MODE='FOO' is invalid: expected one of SINK, ECHO, AI"
    ]


def test_a_database_that_cannot_be_reached_stops_start_up_with_one_line_hiding_the_password() -> None:
    # Port 9 on loopback: nothing listens there.
    env = {"DATABASE_URL": "postgresql://agent:s3cret-pw@127.0.0.1:9/agentlocator", "PORT": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "voice_gateway"],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin", "BIND_HOST": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "voice_gateway: cannot open DATABASE_URL (postgresql+asyncpg://"
    )
    assert "127.0.0.1:9/agentlocator" in lines[0] and "Connection refused" in lines[0]
    assert "s3cret-pw" not in result.stderr
