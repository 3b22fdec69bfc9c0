"""The unified API against the real Baileys sidecar process (its in-process fake socket stands in for
WhatsApp's servers): sessions, QR, sends, receipts, incoming messages, and a gateway restart."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.procs import ServerProcess
from tests.whatsapp.conftest import (
    BEARER,
    BRIDGE_KEY,
    WEBHOOK_SECRET,
    base_url,
    contact,
    gateway_env,
    messages_of,
    sqlite_url,
    start_wa_gateway,
    twilio_env,
)

pytestmark = pytest.mark.integration
BRIDGE_AUTH = {"Authorization": f"Bearer {BRIDGE_KEY}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """One sidecar and one gateway that know each other's URLs; the gateway keeps its port on restart."""

    def __init__(self, directory: Path, extra_env: dict[str, str], bridge_port: int = 0) -> None:
        self.gateway_port = free_port()
        self.bridge_env = {
            "BRIDGE_HOST": "127.0.0.1",
            "BRIDGE_PORT": str(bridge_port),
            "BRIDGE_API_KEY": BRIDGE_KEY,
            "BRIDGE_FAKE_SOCKET": "1",
            "BRIDGE_DATA_DIR": str(directory / "bridge"),
            "BRIDGE_WEBHOOK_URL": f"http://127.0.0.1:{self.gateway_port}/webhook/whatsapp/baileys",
            "BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BRIDGE_WEBHOOK_RETRY_MIN_MS": "50",
            "BRIDGE_WEBHOOK_RETRY_MAX_MS": "500",
            "BRIDGE_SEND_BURST": "100",
            "BRIDGE_SEND_PER_MINUTE": "1000",
            "BRIDGE_LOG_LEVEL": "debug",
        }
        self.bridge = self._start_bridge()
        self.env = {
            **gateway_env(sqlite_url(directory)),
            **extra_env,
            "PORT": str(self.gateway_port),
            "BAILEYS_BRIDGE_URL": f"http://127.0.0.1:{self.bridge.port}",
        }
        self.gateway = start_wa_gateway(**self.env)

    def _start_bridge(self) -> ServerProcess:
        return ServerProcess(
            ["node", "baileys-bridge/src/index.js"], self.bridge_env, "BRIDGE_LISTENING"
        ).start()

    def restart_bridge(self) -> None:
        """After a crash: the same data dir and port (give `bridge_port`, so the gateway finds it again)."""
        self.bridge = self._start_bridge()

    def restart_gateway(self, between: Callable[[], None] = lambda: None) -> None:
        assert self.gateway.stop() == 0
        between()
        self.gateway = start_wa_gateway(**self.env)

    def fake(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.bridge.port}/v1/_fake/{path}"
        response = httpx.post(url, json=body, headers=BRIDGE_AUTH)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def start_session(self) -> None:
        url = f"http://127.0.0.1:{self.bridge.port}/v1/session/start"
        assert httpx.post(url, headers=BRIDGE_AUTH).status_code == 202

    def api(self, method: str, path: str, extra: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        url = f"{base_url(self.gateway)}/api/whatsapp{path}"
        return httpx.request(method, url, headers={**BEARER, **(extra or {})}, **kw)

    def stop(self) -> None:
        self.gateway.stop()
        self.bridge.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path, {})
    yield running
    running.stop()


def test_status_and_qr_come_from_the_sidecar(stack: Stack) -> None:
    before = stack.api("GET", "/status").json()["providers"]["baileys"]
    assert before["reachable"] is True and before["qr_available"] is False
    stack.start_session()
    stack.fake("connection", {"qr": "2@pairing-code-text"})
    waiting = stack.api("GET", "/status").json()["providers"]["baileys"]
    assert waiting["state"] == "qr" and waiting["qr_available"] is True
    as_json = stack.api("GET", "/qr", params={"format": "json"})
    assert as_json.status_code == 200 and as_json.json()["qr"] == "2@pairing-code-text"
    png = stack.api("GET", "/qr")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    stack.fake("connection", {"connection": "open"})
    assert stack.api("GET", "/status").json()["providers"]["baileys"]["state"] == "open"
    assert stack.api("GET", "/qr").status_code in {404, 409}


def test_a_send_before_the_session_is_open_is_refused_as_not_connected(stack: Stack) -> None:
    response = stack.api("POST", "/messages", json={"to": contact(), "text": "too early"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_connected" and error["accepted_possible"] is False
    assert error["record"]["status"] == "failed"


def test_a_message_sent_through_the_sidecar_follows_its_receipts(stack: Stack) -> None:
    stack.start_session()
    stack.fake("connection", {"connection": "open"})
    who = contact()
    response = stack.api("POST", "/messages", json={"to": who, "text": "hello from baileys"})
    assert response.status_code == 202, response.text
    sent = response.json()
    assert sent["provider"] == "baileys" and sent["status"] == "queued" and sent["provider_id"]
    provider_id = sent["provider_id"]
    for status, word in ((3, "delivered"), (4, "read")):
        stack.fake("receipt", {"id": provider_id, "status": status})
        stack.gateway.wait_for(f"WHATSAPP_STATUS provider=baileys provider_id={provider_id} status={word}")
    fetched = stack.api("GET", f"/messages/{sent['id']}").json()
    assert fetched["status"] == "read"
    assert [h["raw_status"] for h in fetched["history"] if h["applied"]] == ["delivered", "read"]
    refreshed = stack.api("GET", f"/messages/{sent['id']}", params={"refresh": "true"})
    assert refreshed.status_code == 200 and refreshed.json()["status"] == "read"


def test_a_number_not_on_whatsapp_is_a_422(stack: Stack) -> None:
    stack.start_session()
    stack.fake("connection", {"connection": "open"})
    response = stack.api("POST", "/messages", json={"to": "+4915100000000", "text": "anyone?"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_on_whatsapp"
    check = stack.api("POST", "/contacts/check", json={"phone": "+4915100000000"})
    assert check.status_code == 200 and check.json()["exists"] is False
    assert stack.api("POST", "/contacts/check", json={"phone": contact()}).json()["exists"] is True


def test_an_incoming_sidecar_message_is_stored_once(stack: Stack) -> None:
    stack.start_session()
    stack.fake("connection", {"connection": "open"})
    who = contact()
    wa_id = stack.fake("incoming", {"from": who, "text": "are you open?", "push_name": "Anna"})["id"]
    stack.gateway.wait_for(f"WHATSAPP_RECEIVED id=baileys:{wa_id}")
    [message] = messages_of(stack.gateway, who)
    assert (message["direction"], message["provider"], message["text"]) == (
        "inbound",
        "baileys",
        "are you open?",
    )


def test_the_gateway_restarted_between_send_and_receipt_loses_nothing(stack: Stack) -> None:
    stack.start_session()
    stack.fake("connection", {"connection": "open"})
    who = contact()
    sent = stack.api("POST", "/messages", json={"to": who, "text": "see you at 7"}).json()
    incoming: dict[str, str] = {}

    def while_the_gateway_is_down() -> None:
        # Both events fail to deliver now and wait in the sidecar's on-disk outbox.
        stack.fake("receipt", {"id": sent["provider_id"], "status": 3})
        incoming.update(stack.fake("incoming", {"from": who, "text": "great, thanks"}))
        stack.bridge.wait_for(re.compile("webhook not delivered"))

    stack.restart_gateway(while_the_gateway_is_down)
    stack.gateway.wait_for(
        f"WHATSAPP_STATUS provider=baileys provider_id={sent['provider_id']} status=delivered"
    )
    stack.gateway.wait_for(f"WHATSAPP_RECEIVED id=baileys:{incoming['id']}")
    listed = messages_of(stack.gateway, who)
    assert [(m["direction"], m["text"], m["status"]) for m in listed] == [
        ("outbound", "see you at 7", "delivered"),
        ("inbound", "great, thanks", "received"),
    ]


def test_fallback_to_twilio_when_the_sidecar_is_not_connected(
    tmp_path: Path, fake_twilio: ServerProcess
) -> None:
    stack = Stack(tmp_path, twilio_env(fake_twilio))
    try:
        who = contact()
        response = stack.api("POST", "/messages", json={"to": who, "text": "via twilio", "fallback": True})
        assert response.status_code == 202, response.text
        message = response.json()
        assert message["provider"] == "twilio" and message["history"][0]["error_code"] == "not_connected"
        assert fake_twilio.matching(f'"To": "whatsapp:{who}"')
    finally:
        stack.stop()


def test_an_incoming_sidecar_text_is_answered_by_the_agent_through_the_sidecar(
    tmp_path: Path, agent: ServerProcess
) -> None:
    stack = Stack(tmp_path, {"WHATSAPP_AUTO_REPLY": "true", "AGENT_ADDR": f"127.0.0.1:{agent.port}"})
    try:
        stack.start_session()
        stack.fake("connection", {"connection": "open"})
        who = contact()
        wa_id = stack.fake("incoming", {"from": who, "text": "what are your opening hours?"})["id"]
        stack.gateway.wait_for(re.compile(f"WHATSAPP_AUTO_REPLY id=baileys:{wa_id} .*result=done"))
        inbound, reply = messages_of(stack.gateway, who)
        assert inbound["text"] == "what are your opening hours?"
        assert reply["direction"] == "outbound" and reply["provider"] == "baileys" and reply["provider_id"]
        assert reply["text"].strip()
    finally:
        stack.stop()


def test_a_send_in_flight_when_the_sidecar_dies_is_settled_not_left_queued(tmp_path: Path) -> None:
    # The deadline is already past when the gateway asks: what the sidecar cannot confirm fails at once.
    stack = Stack(tmp_path, {"WHATSAPP_UNCONFIRMED_SEND_TIMEOUT_S": "0.001"}, bridge_port=free_port())
    try:
        stack.start_session()
        stack.fake("connection", {"connection": "open"})
        stack.fake("sends", {"mode": "hang"})
        body, key = {"to": contact(), "text": "did this go out?"}, {"Idempotency-Key": "k-1"}
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(stack.api, "POST", "/messages", key, json=body)
            stack.bridge.wait_for("send handed to the socket")
            stack.bridge.kill()
            died = answer.result()
        assert died.status_code == 502 and died.json()["error"]["accepted_possible"] is True
        record = died.json()["error"]["record"]
        assert (record["status"], record["provider_id"]) == ("queued", None)
        # The client retries with its key: the same message, not a second send.
        retried = stack.api("POST", "/messages", key, json=body)
        assert retried.status_code == 200 and retried.json()["id"] == record["id"]
        assert retried.headers["Idempotent-Replayed"] == "true"
        stack.restart_bridge()
        settled = stack.api("GET", f"/messages/{record['id']}", params={"refresh": "true"}).json()
        assert (settled["status"], settled["error_code"]) == ("failed", "send_unconfirmed")
        reserved = settled["provider_id"]
        assert reserved, "the sidecar's reserved id is attached, so later receipts still apply"
        # It had in fact gone out: WhatsApp's receipt still moves it on (delivered beats failed).
        stack.fake("connection", {"connection": "open"})
        stack.fake("receipt", {"id": reserved, "status": 3})
        stack.gateway.wait_for(f"WHATSAPP_STATUS provider=baileys provider_id={reserved} status=delivered")
        assert stack.api("GET", f"/messages/{record['id']}").json()["status"] == "delivered"
    finally:
        stack.stop()
