"""/api/payments/*: 410 for retired routes, 401/403 by token, 501 while no payment provider is configured."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.procs import ServerProcess, python_module
from voice_gateway.settings import Settings, SettingsError

pytestmark = pytest.mark.integration

ALLOWED = "payments-token-0123456789abcdef"
OTHER_ALLOWED = "second-token-0123456789abcdef"


@pytest.fixture(scope="module")
def gateway() -> Iterator[ServerProcess]:
    env = {
        "PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "WS_MODE": "ECHO",
        "TWILIO_AUTH_TOKEN": "",
        "PAYMENTS_API_TOKENS": f"{ALLOWED}, {OTHER_ALLOWED}",
    }
    proc = ServerProcess(python_module("voice_gateway"), env, "GATEWAY_LISTENING").start()
    yield proc
    proc.stop()


@pytest.fixture
def http(gateway: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{gateway.port}", timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json"
    code = response.json()["error"]["code"]
    assert isinstance(code, str)
    return code


def test_an_allowed_token_on_a_current_route_gets_501_with_a_reason(http: httpx.Client) -> None:
    for method, path in (("POST", "/api/payments/links"), ("GET", "/api/payments/links/pl_123")):
        response = http.request(method, path, headers=bearer(ALLOWED), json={"amount": 1000})
        assert response.status_code == 501, path
        assert error_code(response) == "payments_not_configured"
        assert "no payment provider is configured" in response.json()["error"]["message"]
    assert http.get("/api/payments/links/x", headers=bearer(OTHER_ALLOWED)).status_code == 501


def test_a_token_not_allowed_to_use_payments_gets_403(http: httpx.Client) -> None:
    response = http.post("/api/payments/links", headers=bearer("some-other-token-0123456789"))
    assert response.status_code == 403
    assert error_code(response) == "payments_forbidden"
    # A prefix of an allowed token is not that token.
    assert http.post("/api/payments/links", headers=bearer(ALLOWED[:-1])).status_code == 403


def test_no_bearer_token_gets_401_with_a_challenge(http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": f"Basic {ALLOWED}"}, {"Authorization": "Bearer"}):
        response = http.post("/api/payments/links", headers=headers)
        assert response.status_code == 401, headers
        assert error_code(response) == "unauthorized"
        assert response.headers["www-authenticate"] == 'Bearer realm="payments"'


def test_a_retired_route_gets_410_naming_its_replacement_without_needing_a_token(http: httpx.Client) -> None:
    response = http.post("/api/payments/create")
    assert response.status_code == 410
    assert error_code(response) == "route_retired"
    assert response.json()["replacement"] == {"method": "POST", "path": "/api/payments/links"}
    assert response.headers["link"] == '</api/payments/links>; rel="successor-version"'
    status = http.get("/api/payments/status/pl_42", headers=bearer(ALLOWED))
    assert status.status_code == 410
    assert status.json()["replacement"] == {"method": "GET", "path": "/api/payments/links/pl_42"}


def test_unknown_paths_get_404_and_wrong_methods_get_405_listing_the_routes(http: httpx.Client) -> None:
    unknown = http.get("/api/payments/refunds", headers=bearer(ALLOWED))
    assert unknown.status_code == 404
    assert "POST /api/payments/links" in unknown.json()["error"]["message"]
    assert http.get("/api/payments", headers=bearer(ALLOWED)).status_code == 404
    wrong = http.delete("/api/payments/links", headers=bearer(ALLOWED))
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


def test_every_refusal_is_counted_and_logged_and_the_gateway_keeps_serving(
    http: httpx.Client, gateway: ServerProcess
) -> None:
    before = len(gateway.lines)
    http.post("/api/payments/links", headers=bearer("not-allowed-token-0123456789"))
    gateway.wait_for("PAYMENTS_REFUSED status=403 code=payments_forbidden", start=before)
    text = http.get("/metrics").text
    match = re.search(
        r'^agentlocator_payments_requests_total\{route="auth",status="403"\} (\S+)$', text, re.M
    )
    assert match is not None and float(match.group(1)) >= 1
    assert http.get("/healthz").status_code == 200


def test_payments_tokens_shorter_than_16_characters_stop_start_up_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="PAYMENTS_API_TOKENS"):
        Settings.from_env({"PAYMENTS_API_TOKENS": f"{ALLOWED},short"})
    assert Settings.from_env({}).payments_api_tokens == frozenset()
