"""What a hostile client sends the WhatsApp surface: numbers with a trailing newline, lone UTF-16
surrogates, reused idempotency keys. Each is refused with a precise error or stored without loss.
Driven through Quart's test client on the real app (the sidecar is certainly down: port 9)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client
from twilio.request_validator import RequestValidator

from tests.whatsapp.conftest import API_TOKEN, BEARER, BRIDGE_KEY, WEBHOOK_SECRET, contact
from voice_gateway.app import create_app
from voice_gateway.settings import Settings, SettingsError
from voice_gateway.whatsapp.signatures import sign_bridge_webhook
from voice_gateway.whatsapp.validation import Invalid, parse_contact, parse_send

TWILIO_TOKEN = "twilio-test-token-hostile"
LONE = "\ud800"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(
        api_token=API_TOKEN,
        bridge_api_key=BRIDGE_KEY,
        bridge_webhook_secret=WEBHOOK_SECRET,
        twilio_auth_token=TWILIO_TOKEN,
        database_url=f"sqlite:///{tmp_path}/hostile.db",
        baileys_bridge_url="http://127.0.0.1:9",
    )
    app = create_app(settings)
    async with app.test_app() as running:
        yield running.test_client()


async def _messages(client: Client, who: str) -> list[dict[str, Any]]:
    response = await client.get("/api/whatsapp/messages", query_string={"contact": who}, headers=BEARER)
    assert response.status_code == 200, await response.get_data(as_text=True)
    found: list[dict[str, Any]] = (await response.get_json())["messages"]
    return found


def test_a_phone_number_with_a_trailing_newline_is_not_a_phone_number() -> None:
    number = "+4915112345678"
    for hostile in (number + "\n", "\n" + number, number + "\x00"):
        with pytest.raises(Invalid) as refused:
            parse_send({"to": hostile, "text": "hi"})
        assert set(refused.value.problems) == {"to"}
        with pytest.raises(Invalid):
            parse_contact(hostile)
    with pytest.raises(Invalid) as refused:
        parse_send({"to": number, "template": {"content_sid": "HX" + "a" * 32 + "\n"}})
    assert set(refused.value.problems) == {"template.content_sid"}
    assert parse_contact(number) == number


def test_a_twilio_sender_in_other_scripts_digits_is_refused() -> None:
    # str.isdigit() is true for Arabic-Indic digits; WhatsApp addresses are ASCII.
    with pytest.raises(SettingsError, match="TWILIO_WHATSAPP_FROM"):
        Settings.from_env({"TWILIO_WHATSAPP_FROM": "+\u0661\u0664\u0661\u0665\u0665\u0662\u0663\u0668\u0668"})


async def test_the_api_refuses_a_number_with_a_trailing_newline_with_a_422(client: Client) -> None:
    who = contact()
    sent = await client.post("/api/whatsapp/messages", json={"to": who + "\n", "text": "hi"}, headers=BEARER)
    assert sent.status_code == 422
    assert set((await sent.get_json())["error"]["fields"]) == {"to"}
    listed = await client.get("/api/whatsapp/messages", query_string={"contact": who + "\n"}, headers=BEARER)
    assert listed.status_code == 422


async def test_a_twilio_message_from_a_number_with_a_newline_is_refused(client: Client) -> None:
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "From": f"whatsapp:{contact()}\n", "Body": "hi"}
    url = "http://localhost/webhook/whatsapp/twilio"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    response = await client.post(
        "/webhook/whatsapp/twilio", form=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 400


async def _bridge_post(client: Client, event: dict[str, Any]) -> Any:
    # json.dumps escapes a lone surrogate as \ud800, exactly as Node's JSON.stringify does.
    raw = json.dumps(event).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-WA-Event-Id": event["id"],
        "X-WA-Timestamp": str(timestamp),
        "X-WA-Signature": sign_bridge_webhook(WEBHOOK_SECRET, timestamp, raw),
    }
    return await client.post("/webhook/whatsapp/baileys", data=raw, headers=headers)


async def test_an_incoming_text_with_a_lone_surrogate_is_stored_with_a_replacement_character(
    client: Client,
) -> None:
    who = contact()
    event = {
        "id": str(uuid.uuid4()),
        "type": "message.received",
        "created_at": "2026-01-01T00:00:00Z",
        "data": {
            "id": "WA-" + uuid.uuid4().hex,
            "from": who,
            "chat": who,
            "push_name": "An" + LONE + "na",
            "timestamp": "2026-01-01T10:00:00Z",
            "text": "half an emoji: " + LONE + " and the rest \U0001f600",
            "media": {"caption": LONE},
        },
    }
    response = await _bridge_post(client, event)
    assert response.status_code == 200, await response.get_data(as_text=True)
    [stored] = await _messages(client, who)
    assert stored["text"] == "half an emoji: \ufffd and the rest \U0001f600"
    assert stored["media"] == {"caption": "\ufffd"}


async def test_an_api_send_with_a_lone_surrogate_is_a_400_naming_the_field(client: Client) -> None:
    who = contact()
    body = {"to": who, "text": "broken " + LONE, "media": {"url": "https://x.test/a.png", "filename": LONE}}
    raw = json.dumps(body).encode()
    response = await client.post(
        "/api/whatsapp/messages", data=raw, headers={**BEARER, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    error = (await response.get_json())["error"]
    assert error["code"] == "invalid_unicode"
    assert set(error["fields"]) == {"text", "media.filename"}
    assert await _messages(client, who) == []


async def test_a_body_nested_deeper_than_json_allows_is_a_400(client: Client) -> None:
    response = await client.post(
        "/api/whatsapp/messages", data=b"[" * 50_000, headers={**BEARER, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "invalid_json"


async def test_a_signed_sidecar_event_with_an_overlong_id_is_a_400_not_a_retried_500(client: Client) -> None:
    event = {"id": str(uuid.uuid4()), "type": "message.status", "data": {"id": "x" * 500, "status": "sent"}}
    response = await _bridge_post(client, event)
    assert response.status_code == 400
    assert "at most 128" in await response.get_data(as_text=True)
