"""The console against a hostile client: password guessing is throttled per address and in total
(429 + Retry-After, bounded memory), a short password stops start-up, and the cookie is `Secure`
whenever the public URL is https."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart.typing import TestClientProtocol as Client

from tests.procs import ROOT
from voice_gateway.app import create_app
from voice_gateway.console.throttle import CONSOLE_LOGINS, LoginThrottle, client_key
from voice_gateway.settings import Settings, SettingsError

PASSWORD = "console-password-0123"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "console_password": PASSWORD,
        "database_url": f"sqlite:///{tmp_path}/console.db",
        "baileys_bridge_url": "http://127.0.0.1:9",
        "console_login_limit_per_minute": 5,
        "console_login_global_limit_per_minute": 30,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


async def _attempt(client: Client, password: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    page = await client.get("/console/login", headers=headers)
    found = re.search(r'name="csrf_token" value="([^"]+)"', await page.get_data(as_text=True))
    token = found.group(1) if found else ""
    response = await client.post(
        "/console/login", form={"password": password, "csrf_token": token}, headers=headers
    )
    return response.status_code, response.headers.get("Retry-After", "")


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[Client]:
    app = create_app(_settings(tmp_path, trust_proxy_headers=True))
    async with app.test_app() as running:
        yield running.test_client()


def _throttled(scope: str) -> float:
    return float(CONSOLE_LOGINS.labels(f"throttled_{scope}")._value.get())


async def test_guesses_from_one_address_are_refused_with_429_and_retry_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(_settings(tmp_path))
    async with app.test_app() as running:
        client = running.test_client()
        before = _throttled("address")
        results = [await _attempt(client, f"guess-{n:04d}") for n in range(20)]
        assert [status for status, _ in results[:5]] == [401] * 5
        assert {status for status, _ in results[5:]} == {429}
        assert all(int(retry) >= 1 for _, retry in results[5:])
        # Locked out: even the right password waits, so guessing cannot be interleaved with it.
        assert (await _attempt(client, PASSWORD))[0] == 429
        assert _throttled("address") - before == 16
    # Counted every time, logged once a minute per address: a flood of guesses does not flood the log.
    assert len([r for r in caplog.records if "CONSOLE_LOGIN_THROTTLED" in r.getMessage()]) == 1


async def test_another_address_still_signs_in_while_one_is_locked_out(proxied: Client) -> None:
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(8):
        await _attempt(proxied, f"guess-{n}", attacker)
    assert (await _attempt(proxied, "guess-x", attacker))[0] == 429
    assert (await _attempt(proxied, PASSWORD, {"X-Forwarded-For": "198.51.100.9"}))[0] == 303


async def test_guesses_spread_over_many_addresses_hit_the_global_limit(proxied: Client) -> None:
    before = _throttled("global")
    statuses = [
        (await _attempt(proxied, "guess", {"X-Forwarded-For": f"10.0.{n // 250}.{n % 250}"}))[0]
        for n in range(40)
    ]
    assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
    assert _throttled("global") - before == 10


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    throttle = LoginThrottle(per_address_per_minute=5, global_per_minute=0, max_addresses=100)
    for n in range(10_000):
        throttle.check(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", now=0.0)
    assert throttle.tracked_addresses <= 100


def test_one_ipv6_network_counts_as_one_address() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("not an address") == "not an address"


def test_a_short_console_password_or_api_token_is_refused_naming_the_variable() -> None:
    for name in ("CONSOLE_PASSWORD", "API_TOKEN"):
        with pytest.raises(
            SettingsError, match=f"^{name} is too short: 1 characters, at least 12"
        ) as refused:
            Settings.from_env({name: "1"})
        assert "'1'" not in str(refused.value)  # the secret itself is never printed
    assert Settings.from_env({"CONSOLE_PASSWORD": "x" * 12}).console_password == "x" * 12


def test_the_gateway_exits_2_with_a_short_console_password() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voice_gateway"],
        cwd=ROOT,
        env={"CONSOLE_PASSWORD": "hunter2", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("voice_gateway: configuration error: CONSOLE_PASSWORD is too short")
    assert "hunter2" not in result.stderr


async def _session_cookie(client: Client, headers: dict[str, str] | None = None) -> str:
    page = await client.get("/console/login", headers=headers)
    found = re.search(r'name="csrf_token" value="([^"]+)"', await page.get_data(as_text=True))
    assert found is not None
    response = await client.post(
        "/console/login", form={"password": PASSWORD, "csrf_token": found.group(1)}, headers=headers
    )
    assert response.status_code == 303
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("agentlocator_console=")]
    return cookie


@pytest.mark.parametrize(
    ("overrides", "headers", "secure"),
    [
        ({"public_base_url": "https://voice.example.com"}, {}, True),
        ({"trust_proxy_headers": True}, {"X-Forwarded-Proto": "https"}, True),
        ({}, {"X-Forwarded-Proto": "https"}, False),  # an untrusted client's header proves nothing
        ({"trust_proxy_headers": True}, {}, False),
        ({"public_base_url": "http://127.0.0.1:8080"}, {}, False),
    ],
)
async def test_the_session_cookie_is_secure_whenever_the_public_url_is_https(
    tmp_path: Path, overrides: dict[str, object], headers: dict[str, str], secure: bool
) -> None:
    app = create_app(_settings(tmp_path, **overrides))
    async with app.test_app() as running:
        cookie = await _session_cookie(running.test_client(), headers)
    assert ("; Secure" in cookie) is secure
