"""The unified API on the real gateway process: bearer auth, validation, OpenAPI, and the Twilio
provider driven through the real twilio SDK against the loopback Messages API."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.procs import ServerProcess
from tests.whatsapp.conftest import (
    BEARER,
    TWILIO_FROM,
    TWILIO_SID,
    base_url,
    contact,
    gateway_env,
    messages_of,
    signed_twilio_post,
    sqlite_url,
    start_wa_gateway,
    twilio_env,
    twilio_requests,
)

pytestmark = pytest.mark.integration
PUBLIC = "https://wa.example.com"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, fake_twilio: ServerProcess) -> Iterator[ServerProcess]:
    env = gateway_env(sqlite_url(tmp_path_factory.mktemp("wa-api")), PUBLIC_BASE_URL=PUBLIC)
    proc = start_wa_gateway(**env, **twilio_env(fake_twilio))
    yield proc
    proc.stop()


def send(proc: ServerProcess, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{base_url(proc)}/api/whatsapp/messages",
        json=body,
        headers=BEARER if headers is None else headers,
        timeout=30,
    )


def status_callback(proc: ServerProcess, sid: str, status: str, **extra: str) -> httpx.Response:
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": TWILIO_SID,
        "From": TWILIO_FROM,
        "ChannelPrefix": "whatsapp",
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return signed_twilio_post(base_url(proc), form, public_base=PUBLIC)


def test_the_api_wants_the_bearer_token(gateway: ServerProcess) -> None:
    body = {"to": contact(), "text": "hi"}
    missing = send(gateway, body, headers={})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = send(gateway, body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    listed = httpx.get(f"{base_url(gateway)}/api/whatsapp/status")
    assert listed.status_code == 401


def test_bodies_that_are_not_json_are_a_400_and_bad_fields_a_422_naming_each(gateway: ServerProcess) -> None:
    url = f"{base_url(gateway)}/api/whatsapp/messages"
    not_json = httpx.post(url, content=b"{to:", headers=BEARER)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    bad = send(gateway, {"to": "0151 123", "text": "", "provider": "telegram", "colour": "red"})
    assert bad.status_code == 422
    fields = bad.json()["error"]["fields"]
    assert set(fields) == {"to", "text", "provider", "colour"}
    assert "E.164" in fields["to"] and fields["colour"] == "unknown field"
    empty = send(gateway, {"to": contact()})
    assert empty.json()["error"]["fields"] == {"text": "one of text, media or template is required"}
    both = send(gateway, {"to": contact(), "text": "x", "template": {"content_sid": "HX" + "a" * 32}})
    assert both.status_code == 422 and "alone" in both.json()["error"]["fields"]["template"]
    media = send(gateway, {"to": contact(), "media": {"url": "ftp://x", "base64": "AA=="}})
    assert set(media.json()["error"]["fields"]) == {"media", "media.url", "media.mimetype"}
    listing = httpx.get(
        f"{base_url(gateway)}/api/whatsapp/messages", params={"contact": "nobody"}, headers=BEARER
    )
    assert listing.status_code == 422 and "contact" in listing.json()["error"]["fields"]


def test_the_openapi_document_describes_every_api_route(gateway: ServerProcess) -> None:
    document = httpx.get(f"{base_url(gateway)}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert set(document["paths"]) == {
        "/api/whatsapp/messages",
        "/api/whatsapp/messages/{id}",
        "/api/whatsapp/contacts/check",
        "/api/whatsapp/status",
        "/api/whatsapp/qr",
        "/api/messages",
        "/api/messages/{id}",
    }
    send_schema = document["components"]["schemas"]["SendRequest"]
    assert send_schema["required"] == ["to"] and send_schema["additionalProperties"] is False


def test_twilio_sends_through_the_sdk_with_whatsapp_addressing_and_a_status_callback(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    who = contact()
    response = send(gateway, {"to": who, "text": "Your table is ready", "provider": "twilio"})
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["provider"] == "twilio" and message["status"] == "queued"
    assert message["provider_id"].startswith("SM")
    [request] = [r for r in twilio_requests(fake_twilio) if r["form"].get("To") == f"whatsapp:{who}"]
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request["form"]["From"] == TWILIO_FROM and request["form"]["Body"] == "Your table is ready"
    assert request["form"]["StatusCallback"] == f"{PUBLIC}/webhook/whatsapp/twilio"


def test_twilio_templates_and_media_urls_reach_the_messages_api(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    who = contact()
    template = {"content_sid": "HX" + "b" * 32, "variables": {"1": "Anna", "2": "7pm"}}
    # A template goes through Twilio even though the default provider is baileys.
    assert send(gateway, {"to": who, "template": template}).json()["provider"] == "twilio"
    media = {"url": "https://example.com/menu.jpg", "type": "image"}
    assert send(gateway, {"to": who, "text": "menu", "media": media, "provider": "twilio"}).status_code == 202
    forms = [r["form"] for r in twilio_requests(fake_twilio) if r["form"].get("To") == f"whatsapp:{who}"]
    assert forms[0]["ContentSid"] == template["content_sid"]
    assert forms[0]["ContentVariables"] == '{"1": "Anna", "2": "7pm"}' and "Body" not in forms[0]
    assert forms[1]["MediaUrl"] == ["https://example.com/menu.jpg"] and forms[1]["Body"] == "menu"


def test_status_callbacks_move_the_message_forward_only(gateway: ServerProcess) -> None:
    who = contact()
    sent = send(gateway, {"to": who, "text": "hello", "provider": "twilio"}).json()
    sid = sent["provider_id"]
    assert status_callback(gateway, sid, "sent").status_code == 200
    assert status_callback(gateway, sid, "read", EventType="READ").status_code == 200
    assert status_callback(gateway, sid, "delivered").status_code == 200  # late, out of order
    assert status_callback(gateway, sid, "delivered").status_code == 200  # and retried: a duplicate
    forged = signed_twilio_post(base_url(gateway), {"MessageSid": sid, "MessageStatus": "failed"}, token="x")
    assert forged.status_code == 403
    fetched = httpx.get(f"{base_url(gateway)}/api/whatsapp/messages/{sent['id']}", headers=BEARER).json()
    assert fetched["status"] == "read"
    assert [(h["raw_status"], h["applied"]) for h in fetched["history"]] == [
        ("queued", False),
        ("sent", True),
        ("read", True),
        ("delivered", False),
    ]


def test_a_failed_delivery_carries_twilios_error_code(gateway: ServerProcess) -> None:
    sent = send(gateway, {"to": contact(), "text": "late", "provider": "twilio"}).json()
    status_callback(gateway, sent["provider_id"], "undelivered", ErrorCode="63016")
    fetched = httpx.get(f"{base_url(gateway)}/api/whatsapp/messages/{sent['id']}", headers=BEARER).json()
    assert fetched["status"] == "failed" and fetched["error_code"] == "63016"


def test_refresh_asks_twilio_for_the_status_through_the_sdk(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    sent = send(gateway, {"to": contact(), "text": "poll me", "provider": "twilio"}).json()
    url = f"{base_url(gateway)}/api/whatsapp/messages/{sent['id']}"
    refreshed = httpx.get(url, params={"refresh": "true"}, headers=BEARER)
    assert refreshed.status_code == 200 and refreshed.json()["status"] == "queued"
    assert twilio_requests(fake_twilio, f"/Messages/{sent['provider_id']}.json")
    missing = httpx.get(f"{base_url(gateway)}/api/whatsapp/messages/nope", headers=BEARER)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_a_message_twilio_refuses_is_failed_with_twilios_reason(gateway: ServerProcess) -> None:
    who = "+4915100000000"  # the fake refuses numbers ending in 0000, as Twilio refuses invalid ones
    response = send(gateway, {"to": who, "text": "x", "provider": "twilio"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "twilio_21211" and error["accepted_possible"] is False
    assert error["record"]["status"] == "failed"


def test_fallback_moves_to_twilio_only_when_the_sidecar_certainly_did_not_take_it(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    # The sidecar is down (connection refused): without fallback the send fails ...
    who = contact()
    refused = send(gateway, {"to": who, "text": "no fallback"})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "bridge_unreachable"
    assert refused.json()["error"]["record"]["status"] == "failed"
    # ... with fallback Twilio sends it, and the history says why.
    moved = send(gateway, {"to": who, "text": "with fallback", "fallback": True})
    assert moved.status_code == 202, moved.text
    message = moved.json()
    assert message["provider"] == "twilio" and message["status"] == "queued"
    assert message["history"][0]["provider"] == "baileys"
    assert message["history"][0]["error_code"] == "bridge_unreachable"
    assert [
        r["form"]["Body"] for r in twilio_requests(fake_twilio) if r["form"]["To"] == f"whatsapp:{who}"
    ] == ["with fallback"]
    gateway.wait_for("WHATSAPP_FALLBACK")


def test_provider_status_reports_both_providers(gateway: ServerProcess) -> None:
    status = httpx.get(f"{base_url(gateway)}/api/whatsapp/status", headers=BEARER).json()
    assert status["default_provider"] == "baileys"
    assert status["providers"]["twilio"] == {"configured": True, "from": TWILIO_FROM}
    assert status["providers"]["baileys"]["reachable"] is False
    check = httpx.post(
        f"{base_url(gateway)}/api/whatsapp/contacts/check",
        json={"phone": contact(), "provider": "twilio"},
        headers=BEARER,
    )
    assert check.status_code == 200 and check.json()["exists"] is None


@pytest.fixture
def hung_bridge() -> Iterator[int]:
    """A socket that accepts connections and never answers: a sidecar stuck mid-send."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_no_fallback_when_the_sidecar_may_have_sent_it(
    tmp_path: Any, fake_twilio: ServerProcess, hung_bridge: int
) -> None:
    env = gateway_env(
        sqlite_url(tmp_path),
        BAILEYS_BRIDGE_URL=f"http://127.0.0.1:{hung_bridge}",
        BAILEYS_BRIDGE_TIMEOUT_S="0.5",
    )
    proc = start_wa_gateway(**env, **twilio_env(fake_twilio))
    try:
        who = contact()
        response = send(proc, {"to": who, "text": "maybe sent", "fallback": True})
        assert response.status_code == 504
        error = response.json()["error"]
        assert error["code"] == "bridge_timeout" and error["accepted_possible"] is True
        # Still queued (a late status report can resolve it), and Twilio was never asked.
        assert error["record"]["status"] == "queued" and error["record"]["provider"] == "baileys"
        assert not [r for r in twilio_requests(fake_twilio) if r["form"].get("To") == f"whatsapp:{who}"]
        assert messages_of(proc, who)[0]["text"] == "maybe sent"
    finally:
        proc.stop()


def test_the_api_is_disabled_without_api_token(tmp_path: Any) -> None:
    proc = start_wa_gateway(DATABASE_URL=sqlite_url(tmp_path))
    try:
        response = send(proc, {"to": contact(), "text": "x"}, headers={"Authorization": "Bearer anything"})
        assert response.status_code == 503 and "API_TOKEN is not set" in response.json()["error"]["message"]
    finally:
        proc.stop()


def test_unique_ids(gateway: ServerProcess) -> None:
    ids = {send(gateway, {"to": contact(), "text": "x", "provider": "twilio"}).json()["id"] for _ in range(3)}
    assert len(ids) == 3 and all(uuid.UUID(i) for i in ids)
