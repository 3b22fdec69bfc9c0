"""Incoming webhooks on the real gateway process: signatures, the replay window, duplicates."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.procs import ServerProcess
from tests.whatsapp.conftest import (
    TWILIO_SID,
    base_url,
    bridge_event,
    contact,
    gateway_env,
    messages_of,
    signed_bridge_post,
    signed_twilio_post,
    sqlite_url,
    start_wa_gateway,
    twilio_env,
)
from voice_gateway.whatsapp.signatures import sign_bridge_webhook

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, fake_twilio: ServerProcess) -> Iterator[ServerProcess]:
    directory: Path = tmp_path_factory.mktemp("wa-webhooks")
    proc = start_wa_gateway(**gateway_env(sqlite_url(directory)), **twilio_env(fake_twilio))
    yield proc
    proc.stop()


def received(who: str, wa_id: str, text: str = "hello") -> dict[str, object]:
    return bridge_event(
        "message.received",
        id=wa_id,
        chat=who,
        **{"from": who},
        from_lid=None,
        push_name="Anna",
        is_group=False,
        timestamp="2026-01-01T10:00:00Z",
        type="text",
        text=text,
        media=None,
    )


def test_a_signed_sidecar_message_is_stored_and_listed(gateway: ServerProcess) -> None:
    who = contact()
    response = signed_bridge_post(base_url(gateway), received(who, "WA-" + uuid.uuid4().hex))
    assert response.status_code == 200 and response.json() == {"stored": True, "duplicate": False}
    [message] = messages_of(gateway, who)
    assert message["direction"] == "inbound" and message["provider"] == "baileys"
    assert message["text"] == "hello" and message["status"] == "received"


def test_a_redelivered_sidecar_event_answers_200_and_stores_nothing(gateway: ServerProcess) -> None:
    who, wa_id = contact(), "WA-" + uuid.uuid4().hex
    event = received(who, wa_id)
    assert signed_bridge_post(base_url(gateway), event).json()["stored"] is True
    again = signed_bridge_post(base_url(gateway), event)
    assert again.status_code == 200 and again.json() == {"stored": False, "duplicate": True}
    # The same WhatsApp message under a fresh event id (the sidecar lost its outbox record) too.
    other = signed_bridge_post(base_url(gateway), received(who, wa_id))
    assert other.status_code == 200 and other.json()["duplicate"] is True
    assert len(messages_of(gateway, who)) == 1
    gateway.wait_for(f"WHATSAPP_DUPLICATE provider=baileys provider_id={wa_id}")


def test_a_forged_sidecar_signature_is_refused_with_401(gateway: ServerProcess) -> None:
    who = contact()
    response = signed_bridge_post(base_url(gateway), received(who, "WA-forged"), secret="not-the-secret")
    assert response.status_code == 401 and "invalid X-WA-Signature" in response.text
    assert messages_of(gateway, who) == []


def test_a_body_changed_after_signing_is_refused(gateway: ServerProcess) -> None:
    ts = int(time.time())
    signature = sign_bridge_webhook("test-webhook-secret-0123456789", ts, b'{"id": "a"}')
    response = httpx.post(
        f"{base_url(gateway)}/webhook/whatsapp/baileys",
        content=b'{"id": "b"}',
        headers={"X-WA-Timestamp": str(ts), "X-WA-Signature": signature},
    )
    assert response.status_code == 401


def test_a_sidecar_event_older_than_five_minutes_is_refused_as_a_replay(gateway: ServerProcess) -> None:
    who = contact()
    stale = signed_bridge_post(base_url(gateway), received(who, "WA-old"), timestamp=int(time.time()) - 301)
    assert stale.status_code == 401 and "more than 300 s" in stale.text
    # Well past the window: a request that takes a second to arrive must still be refused.
    future = signed_bridge_post(base_url(gateway), received(who, "WA-new"), timestamp=int(time.time()) + 330)
    assert future.status_code == 401
    assert messages_of(gateway, who) == []
    gateway.wait_for("WHATSAPP_WEBHOOK_REFUSED provider=baileys status=401")


def test_sidecar_requests_without_signature_headers_are_refused(gateway: ServerProcess) -> None:
    response = httpx.post(f"{base_url(gateway)}/webhook/whatsapp/baileys", json=received(contact(), "x"))
    assert response.status_code == 401 and "missing X-WA-Timestamp" in response.text


def test_a_signed_but_malformed_sidecar_event_is_a_400_naming_the_problem(gateway: ServerProcess) -> None:
    unknown = signed_bridge_post(base_url(gateway), bridge_event("message.exploded", id="x"))
    assert unknown.status_code == 400 and "unknown event type" in unknown.text
    no_sender = signed_bridge_post(base_url(gateway), bridge_event("message.received", id="x"))
    assert no_sender.status_code == 400 and "data.from" in no_sender.text


def test_a_session_event_is_accepted_once(gateway: ServerProcess) -> None:
    event = bridge_event("session.status", state="open", reason=None)
    assert signed_bridge_post(base_url(gateway), event).json() == {"duplicate": False}
    assert signed_bridge_post(base_url(gateway), event).json() == {"duplicate": True}
    gateway.wait_for("WHATSAPP_SESSION state=open")


def twilio_inbound(who: str, sid: str, body: str = "hi there") -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": f"whatsapp:{who}",
        "To": "whatsapp:+14155238886",
        "Body": body,
        "NumMedia": "1",
        "MediaUrl0": "https://media.example.com/ME1",
        "MediaContentType0": "image/jpeg",
        "ProfileName": "Anna",
        "WaId": who[1:],
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def test_a_twilio_signed_message_is_stored_and_answered_with_empty_twiml(gateway: ServerProcess) -> None:
    who = contact()
    response = signed_twilio_post(base_url(gateway), twilio_inbound(who, "SM" + uuid.uuid4().hex))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml") and response.text == "<Response/>"
    [message] = messages_of(gateway, who)
    assert message["provider"] == "twilio" and message["text"] == "hi there"
    assert message["media"] == {"items": [{"url": "https://media.example.com/ME1", "mimetype": "image/jpeg"}]}


def test_a_forged_twilio_signature_is_refused_with_403(gateway: ServerProcess) -> None:
    who = contact()
    response = signed_twilio_post(base_url(gateway), twilio_inbound(who, "SMforged"), token="wrong-token")
    assert response.status_code == 403 and "invalid X-Twilio-Signature" in response.text
    unsigned = httpx.post(f"{base_url(gateway)}/webhook/whatsapp/twilio", data=twilio_inbound(who, "SMx"))
    assert unsigned.status_code == 403 and "missing X-Twilio-Signature" in unsigned.text
    assert messages_of(gateway, who) == []


def test_a_twilio_retry_of_the_same_message_is_stored_once(gateway: ServerProcess) -> None:
    who, sid = contact(), "SM" + uuid.uuid4().hex
    token = {"I-Twilio-Idempotency-Token": str(uuid.uuid4())}
    assert signed_twilio_post(base_url(gateway), twilio_inbound(who, sid), headers=token).status_code == 200
    assert signed_twilio_post(base_url(gateway), twilio_inbound(who, sid), headers=token).status_code == 200
    assert signed_twilio_post(base_url(gateway), twilio_inbound(who, sid)).status_code == 200
    assert len(messages_of(gateway, who)) == 1


def test_webhooks_are_refused_while_their_secret_is_not_configured(tmp_path: Path) -> None:
    proc = start_wa_gateway(DATABASE_URL=sqlite_url(tmp_path))
    try:
        bridge = signed_bridge_post(base_url(proc), received(contact(), "WA-x"))
        # 503, not 4xx: the sidecar keeps the event and retries once the gateway is configured.
        assert bridge.status_code == 503 and "BRIDGE_WEBHOOK_SECRET is not set" in bridge.text
        twilio = signed_twilio_post(base_url(proc), twilio_inbound(contact(), "SMy"))
        assert twilio.status_code == 503 and "TWILIO_AUTH_TOKEN is not set" in twilio.text
    finally:
        proc.stop()
