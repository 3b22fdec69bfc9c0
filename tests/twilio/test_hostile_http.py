"""One hostile HTTP client against the gateway: paths it invents must not become metric labels or
forged log lines, and tokens it invents must not buy it fresh `/api/` rate-limit buckets."""

from __future__ import annotations

import io
import json
import logging
import secrets

import httpx
import pytest

from agentlocator_common import logs
from tests.conftest import GatewayFactory
from voice_gateway import metrics
from voice_gateway.whatsapp import metrics as whatsapp_metrics

API_TOKEN = "hostile-test-api-token-0123456789"
PAYMENTS_TOKEN = "hostile-test-payments-token-0123"
# Every character a line-oriented reader (grep, journald, Python's splitlines) may break a line at.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def formatted(formatter: logging.Formatter, message: str, *args: object, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.CallContextFilter())
    logger = logging.getLogger(f"test.hostile.{secrets.token_hex(4)}")
    logger.propagate = False
    logger.addHandler(handler)
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception(message, *args)
    else:
        logger.warning(message, *args)
    return stream.getvalue()


# --- log fields -------------------------------------------------------------------------------------------


def test_a_readable_line_escapes_every_line_break_and_control_character_in_the_message() -> None:
    forged = "/x\n1999-01-01 00:00:00,000 ERROR voice_gateway FORGED" + LINE_BREAKS + "\x1b[31m\x00"
    line = formatted(logs.TextFormatter(), "BODY_TOO_LARGE path=%s", forged)
    assert line.endswith("\n") and len(line[:-1].splitlines()) == 1
    assert "path=/x\\n1999-01-01" in line and "\\x1b[31m\\x00" in line and "\\u2028" in line


def test_the_call_identifiers_appended_to_a_readable_line_are_escaped_too() -> None:
    token = logs.CALL_SID.set("CA1\nFORGED line")
    try:
        line = formatted(logs.TextFormatter(), "WS_START sid=%s", "MZ1")
    finally:
        logs.CALL_SID.reset(token)
    assert len(line.splitlines()) == 1 and "call_sid=CA1\\nFORGED line" in line


def test_a_traceback_still_spans_its_own_lines_after_an_escaped_message() -> None:
    text = formatted(logs.TextFormatter(), "WS_APP_FAILED path=%s", "/a\nb", exc=True)
    first, *rest = text.splitlines()
    assert first.endswith("WS_APP_FAILED path=/a\\nb")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: boom"


def test_a_json_line_holds_any_message_and_stays_one_line() -> None:
    message = "path=/x" + LINE_BREAKS + "\x1b"
    line = formatted(logs.JsonFormatter(), "BODY_TOO_LARGE %s", message)
    assert len(line.splitlines()) == 1
    assert json.loads(line)["message"] == "BODY_TOO_LARGE " + message


# --- metric labels ----------------------------------------------------------------------------------------


def test_a_route_label_is_a_view_name_or_other_never_a_path() -> None:
    assert metrics.route_label("twilio_voice.incoming_call") == "incoming_call"
    assert metrics.route_label(None) == "other"


@pytest.mark.integration
async def test_oversized_bodies_to_invented_paths_add_no_metric_series_and_forge_no_log_line(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(MAX_BODY_BYTES="64")
    base = f"http://127.0.0.1:{gateway.port}"
    body = b"x" * 100
    invented = [f"/probe-{secrets.token_hex(8)}" for _ in range(20)]
    forged = "/x%0a1999-01-01%2000:00:00,000%20ERROR%20voice_gateway%20FORGED_LINE"
    # A connection of its own per request: after a 413 the body is left unread, so the server closes the
    # connection, and a request sent on it meanwhile would see "Server disconnected".
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        before = len((await client.get(base + "/metrics")).text)
        for path in [*invented, forged]:
            assert (await client.post(base + path, content=body)).status_code == 413
        assert (await client.post(base + "/incoming_call", content=body)).status_code == 413
        exposition = (await client.get(base + "/metrics")).text
    assert not any(path in exposition for path in invented)
    assert 'agentlocator_webhook_requests_total{route="other",status="413"} 21.0' in exposition
    assert 'agentlocator_webhook_requests_total{route="incoming_call",status="413"} 1.0' in exposition
    # Two series, however many paths: the exposition grows by a bounded amount, not per request.
    assert len(exposition) - before < 4096
    line = gateway.wait_for("FORGED_LINE")
    assert "BODY_TOO_LARGE" in line and "path=/x\\n1999-01-01" in line
    assert not any(logged.startswith("1999-01-01") for logged in gateway.lines)


# --- /api/ rate limits ------------------------------------------------------------------------------------


@pytest.mark.integration
async def test_invented_tokens_share_their_addresss_bucket_and_a_valid_token_keeps_its_own(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(
        API_TOKEN=API_TOKEN, PAYMENTS_API_TOKENS=PAYMENTS_TOKEN, API_RATE_LIMIT_PER_MINUTE="3"
    )
    listing = f"http://127.0.0.1:{gateway.port}/api/whatsapp/messages?contact=%2B4915100000001"
    async with httpx.AsyncClient() as client:
        statuses = [
            (
                await client.get(listing, headers={"Authorization": f"Bearer {secrets.token_hex(16)}"})
            ).status_code
            for _ in range(6)
        ]
        assert statuses == [401, 401, 401, 429, 429, 429]
        # Requests with no token at all come from the same address, so they are in the same bucket.
        assert (await client.get(listing)).status_code == 429
        # The real token is not locked out by someone guessing from the same address.
        valid = await client.get(listing, headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert valid.status_code == 200
        payments = f"http://127.0.0.1:{gateway.port}/api/payments/links/pl_1"
        paid = await client.get(payments, headers={"Authorization": f"Bearer {PAYMENTS_TOKEN}"})
        assert paid.status_code == 501
    gateway.wait_for("RATE_LIMITED surface=api")


def test_a_providers_error_code_is_a_whatsapp_send_label_only_when_the_gateway_knows_it() -> None:
    assert whatsapp_metrics.send_result("bridge_timeout") == "bridge_timeout"
    assert whatsapp_metrics.send_result("not_on_whatsapp") == "not_on_whatsapp"
    assert whatsapp_metrics.send_result("twilio_63016") == "twilio_api_error"
    assert whatsapp_metrics.send_result("whatever the sidecar says " + secrets.token_hex(8)) == "other"
