"""Abuse limits: the concurrent-call cap, `/api/` rate limits per token, the penalty box for failed
Twilio signatures per client address, and request size limits on every route family and frame."""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import AUTH_TOKEN, GatewayFactory
from voice_gateway.limits.buckets import Decision, FailureLimiter, RateLimiter, TokenBucket
from voice_gateway.settings import Settings, SettingsError
from voice_gateway.twilio.media_streams import TwilioStream
from voice_gateway.whatsapp.signatures import sign_bridge_webhook

API_TOKEN = "abuse-test-api-token-0123456789"
PAYMENTS_TOKEN = "abuse-test-payments-token-0123"
WEBHOOK_SECRET = "abuse-test-webhook-secret-0123"
pytestmark = pytest.mark.integration
FORM = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC1", "From": "+15005550006", "To": "+15005550001"}


# --- the sans-IO token buckets, on a made-up clock -------------------------------------------------


def test_a_bucket_grants_a_burst_then_refuses_with_the_wait_until_the_next_token() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.check("t", 100.0).allowed for _ in range(3)] == [True, True, True]
    refused = limiter.check("t", 100.0)
    assert not refused.allowed and refused.retry_after_s == pytest.approx(20.0)
    assert refused.retry_after_header == "20"
    assert not limiter.check("t", 119.0).allowed
    assert limiter.check("t", 120.0).allowed


def test_each_key_has_its_own_bucket() -> None:
    limiter = RateLimiter(per_minute=1)
    assert limiter.check("a", 0.0).allowed
    assert not limiter.check("a", 0.0).allowed
    assert limiter.check("b", 0.0).allowed


def test_a_bucket_never_holds_more_than_its_capacity_and_ignores_a_clock_stepping_back() -> None:
    bucket = TokenBucket.full(per_minute=2, now=0.0)
    bucket.refill(10_000.0)
    assert bucket.tokens == 2.0
    assert bucket.take(10_000.0) == 0.0 and bucket.take(10_000.0) == 0.0
    bucket.refill(5.0)  # earlier than the last update: no tokens minted
    assert bucket.tokens == 0.0


def test_retry_after_is_whole_seconds_rounded_up_and_never_zero() -> None:
    assert Decision(False, 0.01).retry_after_header == "1"
    assert Decision(False, 2.2).retry_after_header == "3"


def test_the_least_recently_used_keys_are_dropped_past_the_key_limit() -> None:
    limiter = RateLimiter(per_minute=1, max_keys=2)
    for key in ("a", "b", "c"):
        limiter.check(key, 0.0)
    assert len(limiter) == 2
    # "a" was forgotten, so it starts again with a full bucket.
    assert limiter.check("a", 0.0).allowed


def test_failures_past_the_limit_block_the_key_for_a_full_refill_even_for_good_requests() -> None:
    limiter = FailureLimiter(per_minute=2)
    assert limiter.record_failure("1.2.3.4", 0.0) is False
    assert limiter.record_failure("1.2.3.4", 1.0) is False
    assert limiter.check("1.2.3.4", 1.0).allowed  # at the limit, not past it
    assert limiter.record_failure("1.2.3.4", 2.0) is True
    blocked = limiter.check("1.2.3.4", 2.0)
    assert not blocked.allowed and blocked.retry_after_s == pytest.approx(60.0)
    assert limiter.check("5.6.7.8", 2.0).allowed
    assert not limiter.check("1.2.3.4", 61.9).allowed
    assert limiter.check("1.2.3.4", 62.0).allowed
    # After the penalty the bucket is full again: two more failures are tolerated.
    assert limiter.record_failure("1.2.3.4", 62.0) is False


def test_the_limit_settings_accept_zero_to_turn_off_and_name_a_bad_value() -> None:
    settings = Settings.from_env(
        {"MAX_CONCURRENT_CALLS": "0", "API_RATE_LIMIT_PER_MINUTE": "0", "TRUST_PROXY_HEADERS": "true"}
    )
    assert settings.max_concurrent_calls == 0 and settings.api_rate_limit_per_minute == 0
    assert settings.trust_proxy_headers is True
    defaults = Settings.from_env({})
    assert (defaults.max_concurrent_calls, defaults.signature_failure_limit_per_minute) == (200, 20)
    assert defaults.trust_proxy_headers is False
    with pytest.raises(SettingsError, match=r"^SIGNATURE_FAILURE_LIMIT_PER_MINUTE='-1' is invalid"):
        Settings.from_env({"SIGNATURE_FAILURE_LIMIT_PER_MINUTE": "-1"})


# --- the running gateway ----------------------------------------------------------------------------


def metric(base: str, name: str) -> float:
    text = httpx.get(base + "/metrics").text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_the_caller_past_the_call_cap_hears_all_lines_busy_and_a_freed_line_admits_the_next(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(MAX_CONCURRENT_CALLS="1", BUSY_TEXT="All lines are busy, please call again.")
    base = f"http://127.0.0.1:{gateway.port}"
    stream = TwilioStream("MZ" + secrets.token_hex(16), "CA" + secrets.token_hex(16), "AC1")
    async with connect(f"ws://127.0.0.1:{gateway.port}/ws/twilio-media") as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start({}))
        gateway.wait_for(f"WS_START sid={stream.stream_sid}")
        async with httpx.AsyncClient() as client:
            busy = await client.post(base + "/incoming_call", data=FORM)
        assert busy.status_code == 200 and busy.headers["content-type"].startswith("text/xml")
        assert "<Say>All lines are busy, please call again.</Say><Hangup />" in busy.text
        assert "<Stream" not in busy.text
        assert "CALL_REJECTED_BUSY" in gateway.wait_for("CALL_REJECTED_BUSY")
        assert metric(base, "agentlocator_calls_busy_total") == 1.0
        await ws.send(stream.stop())
        # The gateway gives up the line before it closes the socket, so after the close it is free.
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    async with httpx.AsyncClient() as client:
        admitted = await client.post(base + "/incoming_call", data=FORM)
    assert "<Stream" in admitted.text


def test_api_requests_past_the_per_token_limit_get_429_with_retry_after(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(
        API_TOKEN=API_TOKEN, PAYMENTS_API_TOKENS=PAYMENTS_TOKEN, API_RATE_LIMIT_PER_MINUTE="3"
    )
    base = f"http://127.0.0.1:{gateway.port}"
    bearer = {"Authorization": f"Bearer {API_TOKEN}"}
    listing = base + "/api/whatsapp/messages?contact=%2B4915100000001"
    statuses = [httpx.get(listing, headers=bearer).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = httpx.get(listing, headers=bearer)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    # The payments API is under /api/ too, and another token has its own bucket.
    other = {"Authorization": f"Bearer {PAYMENTS_TOKEN}"}
    assert httpx.get(base + "/api/payments/links/pl_1", headers=other).status_code == 501
    assert httpx.get(base + "/api/payments/links/pl_1", headers=bearer).status_code == 429
    gateway.wait_for("RATE_LIMITED surface=api")
    assert metric(base, 'agentlocator_rate_limited_total{surface="api"}') == 2.0


def signed_headers(url: str, form: dict[str, str], **extra: str) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, form), **extra}


def test_an_address_past_the_signature_failure_limit_gets_429_even_when_signed(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(TWILIO_AUTH_TOKEN=AUTH_TOKEN, SIGNATURE_FAILURE_LIMIT_PER_MINUTE="2")
    base = f"http://127.0.0.1:{gateway.port}"
    url = base + "/incoming_call"
    forged = {"X-Twilio-Signature": "Zm9yZ2Vk"}
    # X-Forwarded-For is not trusted by default: changing it does not escape the limit.
    statuses = [
        httpx.post(url, data=FORM, headers={**forged, "X-Forwarded-For": f"10.0.0.{i}"}).status_code
        for i in range(3)
    ]
    assert statuses == [403, 403, 403]
    gateway.wait_for("SIGNATURE_FAILURES_BLOCKED address=127.0.0.1")
    valid = httpx.post(url, data=FORM, headers=signed_headers(url, FORM))
    assert valid.status_code == 429 and int(valid.headers["Retry-After"]) >= 1
    # Every Twilio-signed route is closed to that address, the WhatsApp one included.
    assert httpx.post(base + "/webhook/stream_status", data=FORM).status_code == 429
    assert httpx.post(base + "/webhook/whatsapp/twilio", data=FORM).status_code == 429
    assert httpx.get(base + "/healthz").status_code == 200
    assert metric(base, "agentlocator_signature_failure_blocks_total") == 1.0


def test_behind_a_trusted_proxy_the_first_forwarded_hop_is_the_address_that_gets_blocked(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(
        TWILIO_AUTH_TOKEN=AUTH_TOKEN, SIGNATURE_FAILURE_LIMIT_PER_MINUTE="1", TRUST_PROXY_HEADERS="true"
    )
    url = f"http://127.0.0.1:{gateway.port}/incoming_call"
    attacker = {"X-Twilio-Signature": "Zm9yZ2Vk", "X-Forwarded-For": "203.0.113.9, 127.0.0.1"}
    assert [httpx.post(url, data=FORM, headers=attacker).status_code for _ in range(2)] == [403, 403]
    gateway.wait_for("SIGNATURE_FAILURES_BLOCKED address=203.0.113.9")
    blocked = signed_headers(url, FORM, **{"X-Forwarded-For": "203.0.113.9"})
    assert httpx.post(url, data=FORM, headers=blocked).status_code == 429
    twilio = signed_headers(url, FORM, **{"X-Forwarded-For": "54.172.60.1, 127.0.0.1"})
    answered = httpx.post(url, data=FORM, headers=twilio)
    assert answered.status_code == 200 and "<Stream" in answered.text


async def test_forged_websocket_upgrades_fill_the_same_penalty_box_as_the_webhooks(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(TWILIO_AUTH_TOKEN=AUTH_TOKEN, SIGNATURE_FAILURE_LIMIT_PER_MINUTE="1")
    ws_url = f"ws://127.0.0.1:{gateway.port}/ws/twilio-media"
    statuses = []
    for _ in range(3):
        with pytest.raises(InvalidStatus) as refused:
            await connect(ws_url, additional_headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
        statuses.append(refused.value.response.status_code)
    assert statuses == [403, 403, 429]
    assert int(refused.value.response.headers["Retry-After"]) >= 1
    url = f"http://127.0.0.1:{gateway.port}/incoming_call"
    async with httpx.AsyncClient() as client:
        signed = await client.post(url, data=FORM, headers=signed_headers(url, FORM))
    assert signed.status_code == 429


# --- size limits ------------------------------------------------------------------------------------


@pytest.fixture
def limited_gateway(start_gateway: GatewayFactory) -> Iterator[str]:
    gateway = start_gateway(
        MAX_BODY_BYTES="2048",
        MAX_WS_FRAME_BYTES="2048",
        API_TOKEN=API_TOKEN,
        PAYMENTS_API_TOKENS=PAYMENTS_TOKEN,
        BRIDGE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_WHATSAPP_FROM="whatsapp:+14155238886",
        # Nothing listens on port 9: a send that got past the size check would fail, not hang.
        BAILEYS_BRIDGE_URL="http://127.0.0.1:9",
        TWILIO_API_BASE_URL="http://127.0.0.1:9",
    )
    yield f"http://127.0.0.1:{gateway.port}"


def bridge_headers(raw: bytes) -> dict[str, str]:
    ts = int(time.time())
    return {
        "Content-Type": "application/json",
        "X-WA-Timestamp": str(ts),
        "X-WA-Signature": sign_bridge_webhook(WEBHOOK_SECRET, ts, raw),
    }


def test_an_oversized_body_gets_413_on_every_route_family_and_nothing_is_stored(limited_gateway: str) -> None:
    base = limited_gateway
    who = "+4915100000002"
    big_text = "x" * 4096
    bearer = {"Authorization": f"Bearer {API_TOKEN}"}
    incoming = {
        "id": str(uuid.uuid4()),
        "type": "message",
        "created_at": "2026-01-01T00:00:00Z",
        "data": {"id": "WA1", "from": who, "text": big_text},
    }
    incoming_raw = json.dumps(incoming).encode()
    form = {**FORM, "Body": big_text, "From": f"whatsapp:{who}", "MessageSid": "SM" + "2" * 32}
    requests: dict[str, httpx.Request] = {
        "twiml webhook": httpx.Request("POST", base + "/incoming_call", data=form),
        "stream status": httpx.Request("POST", base + "/webhook/stream_status", data=form),
        "stream ended": httpx.Request("POST", base + "/webhook/stream_ended", data=form),
        "whatsapp api": httpx.Request(
            "POST", base + "/api/whatsapp/messages", json={"to": who, "text": big_text}, headers=bearer
        ),
        "payments": httpx.Request(
            "POST",
            base + "/api/payments/links",
            json={"amount": 1, "memo": big_text},
            headers={"Authorization": f"Bearer {PAYMENTS_TOKEN}"},
        ),
        "twilio whatsapp webhook": httpx.Request("POST", base + "/webhook/whatsapp/twilio", data=form),
        "baileys webhook": httpx.Request(
            "POST",
            base + "/webhook/whatsapp/baileys",
            content=incoming_raw,
            headers=bridge_headers(incoming_raw),
        ),
    }
    with httpx.Client() as client:
        for family, req in requests.items():
            response = client.send(req)
            assert response.status_code == 413, (family, response.status_code, response.text)
            assert "over 2048 bytes" in response.text, family

        # Without Content-Length (chunked), the limit still holds while the body streams in.
        def chunks() -> Iterator[bytes]:
            yield from (
                json.dumps({"to": who, "text": big_text}).encode()[i : i + 512] for i in range(0, 5000, 512)
            )

        chunked = client.post(base + "/api/whatsapp/messages", content=chunks(), headers=bearer)
        assert chunked.status_code == 413
        listed = client.get(base + "/api/whatsapp/messages", params={"contact": who}, headers=bearer)
        assert listed.status_code == 200 and listed.json()["messages"] == []
        assert client.get(base + "/healthz").status_code == 200


async def test_a_frame_past_the_servers_hard_limit_closes_only_that_socket_with_1009(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(MAX_WS_FRAME_BYTES="2048")
    ws_url = f"ws://127.0.0.1:{gateway.port}/ws/twilio-media"
    # MAX_WS_FRAME_BYTES frames are skipped as bad (tests/test_gateway_stream.py); Hypercorn's own
    # limit, max(1 MiB, 4 x that), closes a socket sending absurd frames before buffering them.
    async with connect(ws_url, max_size=None, open_timeout=10) as ws:
        await ws.send("x" * ((1 << 20) + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{gateway.port}/healthz")).status_code == 200
