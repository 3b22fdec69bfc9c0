"""Twilio's webhooks: the TwiML we answer, the status codes, and signature checks (Quart test client)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from quart import Quart
from twilio.request_validator import RequestValidator

from voice_gateway.app import create_app
from voice_gateway.settings import Settings
from voice_gateway.tools.simulate import parse_connect_stream
from voice_gateway.twilio.signatures import call_token, call_token_problem

FORM = {"CallSid": "CA123", "AccountSid": "AC1", "From": "+15005550006", "To": "+15005550001"}


def app_with(**env: str) -> Quart:
    return create_app(Settings.from_env(env))


async def test_incoming_call_answers_twiml_that_connects_a_bidirectional_stream() -> None:
    client = app_with(PUBLIC_BASE_URL="https://voice.example.com/").test_client()
    response = await client.post("/incoming_call", form=FORM)
    assert response.status_code == 200
    assert response.content_type == "text/xml; charset=utf-8"
    body = await response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    stream = parse_connect_stream(body)
    assert stream.problems == []
    assert stream.stream_url == "wss://voice.example.com/ws/twilio-media"
    assert stream.action_url == "https://voice.example.com/webhook/stream_ended"
    assert stream.status_callback == "https://voice.example.com/webhook/stream_status"
    assert 'statusCallbackMethod="POST"' in body
    assert stream.parameters["From"] == "+15005550006" and stream.parameters["To"] == "+15005550001"
    assert stream.parameters["CallSid"] == "CA123"
    # `<issued at>.<HMAC-SHA256>` under the server's secret
    issued_at, _, mac = stream.parameters["StreamToken"].partition(".")
    assert issued_at.isdigit() and len(mac) == 64
    for url in (stream.stream_url, stream.action_url, stream.status_callback):
        assert url is not None and "//" not in urlsplit(url).path and not urlsplit(url).query


async def test_the_call_token_is_an_hmac_of_the_call_sid_and_its_issue_time_with_the_server_secret() -> None:
    client = app_with(CALL_TOKEN_SECRET="s3cret").test_client()
    body = await (await client.post("/incoming_call", form=FORM)).get_data(as_text=True)
    token = parse_connect_stream(body).parameters["StreamToken"]
    assert token == call_token("s3cret", "CA123", issued_at=int(token.split(".")[0]))
    assert call_token_problem("s3cret", "CA123", token, ttl_s=300) is None


async def test_incoming_call_also_answers_get() -> None:
    client = app_with().test_client()
    response = await client.get("/incoming_call", query_string={"CallSid": "CA9"})
    assert response.status_code == 200
    assert parse_connect_stream(await response.get_data(as_text=True)).parameters["CallSid"] == "CA9"


async def test_without_public_base_url_the_urls_follow_the_forwarded_headers() -> None:
    client = app_with().test_client()
    headers = {
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "voice.example.com",
        "Host": "10.0.0.5:8080",
    }
    body = await (await client.post("/incoming_call", form=FORM, headers=headers)).get_data(as_text=True)
    stream = parse_connect_stream(body)
    assert stream.stream_url == "wss://voice.example.com/ws/twilio-media"
    assert stream.action_url == "https://voice.example.com/webhook/stream_ended"


async def test_a_configured_greeting_is_said_before_the_stream() -> None:
    client = app_with(GREETING_TEXT="Thanks for calling & welcome").test_client()
    body = await (await client.post("/incoming_call", form=FORM)).get_data(as_text=True)
    assert "<Say>Thanks for calling &amp; welcome</Say><Connect" in body


async def test_stream_status_answers_204_and_logs_the_event(caplog: pytest.LogCaptureFixture) -> None:
    client = app_with().test_client()
    form = {**FORM, "StreamSid": "MZ1", "StreamEvent": "stream-error", "StreamError": "handshake failed"}
    with caplog.at_level("INFO"):
        response = await client.post("/webhook/stream_status", form=form)
    assert response.status_code == 204 and await response.get_data() == b""
    assert "STREAM_STATUS call=CA123 stream=MZ1 event=stream-error error=handshake failed" in caplog.text


@pytest.mark.parametrize(
    ("env", "document"),
    [({}, "<Response />"), ({"HANGUP_ON_STREAM_END": "true"}, "<Response><Hangup /></Response>")],
)
async def test_stream_ended_answers_200_xml_so_twilio_never_reports_12100(
    env: dict[str, str], document: str
) -> None:
    response = await app_with(**env).test_client().post("/webhook/stream_ended", form=FORM)
    assert response.status_code == 200
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.get_data(as_text=True) == f'<?xml version="1.0" encoding="UTF-8"?>{document}'


async def test_health_and_readiness_answer_json() -> None:
    client = app_with(WS_MODE="SINK").test_client()
    assert await (await client.get("/healthz")).get_json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert await ready.get_json() == {"ready": True, "mode": "SINK", "dependencies": {}}


@pytest.mark.parametrize("path", ["/incoming_call", "/webhook/stream_status", "/webhook/stream_ended"])
async def test_a_request_signed_with_the_auth_token_is_accepted(path: str) -> None:
    client = app_with(TWILIO_AUTH_TOKEN="tok", PUBLIC_BASE_URL="https://voice.example.com").test_client()
    signature = RequestValidator("tok").compute_signature(f"https://voice.example.com{path}", FORM)
    response = await client.post(path, form=FORM, headers={"X-Twilio-Signature": signature})
    assert response.status_code in {200, 204}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "missing X-Twilio-Signature"), ({"X-Twilio-Signature": "Zm9yZ2Vk"}, "invalid X-Twilio-Signature")],
)
@pytest.mark.parametrize("path", ["/incoming_call", "/webhook/stream_status", "/webhook/stream_ended"])
async def test_a_missing_or_forged_signature_gets_403_with_a_reason(
    path: str, headers: dict[str, str], reason: str
) -> None:
    client = app_with(TWILIO_AUTH_TOKEN="tok", PUBLIC_BASE_URL="https://voice.example.com").test_client()
    response = await client.post(path, form=FORM, headers=headers)
    assert response.status_code == 403
    assert reason in await response.get_data(as_text=True)


async def test_a_signature_over_different_form_values_is_refused() -> None:
    client = app_with(TWILIO_AUTH_TOKEN="tok", PUBLIC_BASE_URL="https://voice.example.com").test_client()
    signature = RequestValidator("tok").compute_signature("https://voice.example.com/incoming_call", FORM)
    response = await client.post(
        "/incoming_call", form={**FORM, "From": "+19999999999"}, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


async def test_a_get_webhook_is_signed_over_its_query_string() -> None:
    client = app_with(TWILIO_AUTH_TOKEN="tok", PUBLIC_BASE_URL="https://voice.example.com").test_client()
    url = "https://voice.example.com/incoming_call?CallSid=CA1&From=%2B1555"
    signature = RequestValidator("tok").compute_signature(url, {})
    response = await client.get(
        "/incoming_call?CallSid=CA1&From=%2B1555", headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200


async def test_a_body_over_the_limit_gets_413_and_the_app_keeps_serving() -> None:
    client = app_with(MAX_BODY_BYTES="1024").test_client()
    response = await client.post("/incoming_call", form={"Body": "x" * 5000})
    assert response.status_code == 413
    assert "over 1024 bytes" in await response.get_data(as_text=True)
    assert (await client.post("/incoming_call", form=FORM)).status_code == 200
