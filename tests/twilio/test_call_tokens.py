"""A call's `StreamToken`: bound to its CallSid, expiring, and good for one live stream at a time.

The upgrade's `X-Twilio-Signature` covers only the `wss://` URL, which is the same for every call, so a
captured one is valid forever; the token is what ties a stream to one call Twilio placed recently.
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import AUTH_TOKEN, GatewayFactory
from tests.procs import ServerProcess
from voice_gateway.settings import Settings, SettingsError
from voice_gateway.tools.simulate import parse_connect_stream
from voice_gateway.twilio.media_streams import TwilioStream
from voice_gateway.twilio.signatures import CALL_TOKEN_CLOCK_SKEW_S, call_token, call_token_problem

SECRET = "call-token-test-secret"
CALL_SID = "CA" + "7" * 32

# --- the token itself ------------------------------------------------------------------------------------


def test_a_fresh_token_for_its_call_is_accepted() -> None:
    token = call_token(SECRET, CALL_SID, issued_at=1_000)
    assert token.startswith("1000.") and len(token) == len("1000.") + 64
    assert call_token_problem(SECRET, CALL_SID, token, ttl_s=300, now=1_000) is None
    assert call_token_problem(SECRET, CALL_SID, token, ttl_s=300, now=1_300) is None


def test_a_token_past_its_lifetime_is_refused_as_expired() -> None:
    token = call_token(SECRET, CALL_SID, issued_at=1_000)
    problem = call_token_problem(SECRET, CALL_SID, token, ttl_s=300, now=1_301)
    assert problem is not None and "expired" in problem and "CALL_TOKEN_TTL_S=300" in problem


def test_a_token_from_the_future_is_refused_past_the_clock_skew_allowance() -> None:
    token = call_token(SECRET, CALL_SID, issued_at=1_000 + CALL_TOKEN_CLOCK_SKEW_S + 1)
    problem = call_token_problem(SECRET, CALL_SID, token, ttl_s=300, now=1_000)
    assert problem is not None and "future" in problem
    skewed = call_token(SECRET, CALL_SID, issued_at=1_000 + CALL_TOKEN_CLOCK_SKEW_S)
    assert call_token_problem(SECRET, CALL_SID, skewed, ttl_s=300, now=1_000) is None


def test_the_issue_time_is_inside_the_hmac_so_it_cannot_be_refreshed() -> None:
    old = call_token(SECRET, CALL_SID, issued_at=1_000)
    refreshed = "5000." + old.split(".", 1)[1]
    problem = call_token_problem(SECRET, CALL_SID, refreshed, ttl_s=300, now=5_000)
    assert problem == "start.customParameters.StreamToken does not match the CallSid"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "0" * 64,  # the old, time-less format
        "1000." + "0" * 63,
        "1000." + "G" * 64,
        "-1000." + "0" * 64,
        "1" * 13 + "." + "0" * 64,
        "\u0661000." + "0" * 64,
        "1000." + "0" * 64 + "\n",
    ],
)
def test_a_malformed_token_is_refused_before_any_hmac(token: str) -> None:
    problem = call_token_problem(SECRET, CALL_SID, token, ttl_s=300, now=1_000)
    assert problem == "start.customParameters.StreamToken is malformed"


def test_a_token_for_another_call_or_under_another_secret_does_not_match() -> None:
    token = call_token(SECRET, CALL_SID, issued_at=1_000)
    assert "does not match" in str(call_token_problem(SECRET, "CA" + "8" * 32, token, 300, now=1_000))
    assert "does not match" in str(call_token_problem("other", CALL_SID, token, 300, now=1_000))


# --- the running gateway -----------------------------------------------------------------------------------


@pytest.fixture
def gateway(start_gateway: GatewayFactory) -> ServerProcess:
    return start_gateway(TWILIO_AUTH_TOKEN=AUTH_TOKEN, CALL_TOKEN_SECRET=SECRET, CALL_TOKEN_TTL_S="120")


async def issued_token(gateway: ServerProcess, call_sid: str) -> str:
    url = f"http://127.0.0.1:{gateway.port}/incoming_call"
    form = {"CallSid": call_sid, "AccountSid": "AC1", "From": "+15005550006", "To": "+15005550001"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, data=form, headers={"X-Twilio-Signature": signature})
    return parse_connect_stream(answer.text).parameters["StreamToken"]


def signed_stream(gateway: ServerProcess) -> connect:
    # One captured upgrade signature: it is the same for every call to this gateway.
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        f"wss://127.0.0.1:{gateway.port}/ws/twilio-media", {}
    )
    return connect(
        f"ws://127.0.0.1:{gateway.port}/ws/twilio-media", additional_headers={"X-Twilio-Signature": signature}
    )


async def started(ws: ClientConnection, call_sid: str, token: str) -> TwilioStream:
    stream = TwilioStream("MZ" + secrets.token_hex(16), call_sid, "AC1")
    await ws.send(stream.connected())
    await ws.send(stream.start({"StreamToken": token}))
    return stream


async def close_of(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.integration
async def test_a_calls_token_opens_one_stream_at_a_time(gateway: ServerProcess) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    token = await issued_token(gateway, call_sid)
    async with signed_stream(gateway) as first, signed_stream(gateway) as second:
        stream = await started(first, call_sid, token)
        await first.recv()  # ECHO's clear: the first stream is live
        await started(second, call_sid, token)
        assert await close_of(second) == (1008, f"another stream is live for CallSid {call_sid}")
        # The first stream is untouched: it still echoes.
        await first.send(stream.media(b"\x55" * 160))
        assert "media" in await first.recv()
    gateway.wait_for("kind=duplicate_stream")


@pytest.mark.integration
async def test_an_expired_token_is_refused_with_1008(gateway: ServerProcess) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    expired = call_token(SECRET, call_sid, issued_at=int(time.time()) - 121)
    async with signed_stream(gateway) as ws:
        await started(ws, call_sid, expired)
        code, reason = await close_of(ws)
    assert code == 1008 and "StreamToken expired" in reason
    gateway.wait_for("kind=bad_call_token")


def test_the_token_lifetime_and_start_timeout_settings_default_and_name_a_bad_value() -> None:
    defaults = Settings.from_env({})
    assert (defaults.call_token_ttl_s, defaults.ws_start_timeout_s) == (300, 10.0)
    with pytest.raises(SettingsError, match=r"^CALL_TOKEN_TTL_S='0' is invalid"):
        Settings.from_env({"CALL_TOKEN_TTL_S": "0"})
    with pytest.raises(SettingsError, match=r"^WS_START_TIMEOUT_S='-1' is invalid"):
        Settings.from_env({"WS_START_TIMEOUT_S": "-1"})
