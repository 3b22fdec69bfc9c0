"""Fixtures for WhatsApp: the loopback Twilio API and signed-request helpers (PostgreSQL: tests/conftest)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.procs import ServerProcess, python_module, start_fake_twilio_api
from voice_gateway.whatsapp.signatures import sign_bridge_webhook

API_TOKEN = "test-api-token-0123456789"
BRIDGE_KEY = "test-bridge-key-0123456789"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-token"
TWILIO_FROM = "whatsapp:+14155238886"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


def contact() -> str:
    """A fresh E.164 number per test, so tests sharing a database never see each other's messages."""
    return "+49151" + str(uuid.uuid4().int)[:8]


@pytest.fixture(scope="module")
def fake_twilio() -> Iterator[ServerProcess]:
    proc = start_fake_twilio_api(f"{TWILIO_SID}:{TWILIO_TOKEN}")
    yield proc
    proc.stop()


def twilio_requests(fake: ServerProcess, path_part: str = "/Messages.json") -> list[dict[str, Any]]:
    lines = fake.matching("TWILIO_API_REQUEST ")
    found = [json.loads(line.split("TWILIO_API_REQUEST ", 1)[1]) for line in lines]
    return [r for r in found if path_part in r["path"]]


def twilio_env(fake: ServerProcess) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_WHATSAPP_FROM": TWILIO_FROM,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{fake.port}",
    }


def gateway_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "API_TOKEN": API_TOKEN,
        "BRIDGE_API_KEY": BRIDGE_KEY,
        "BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DATABASE_URL": database_url,
        # Nothing listens on port 9 (discard): a sidecar that is certainly down, unless a test says otherwise.
        "BAILEYS_BRIDGE_URL": "http://127.0.0.1:9",
        **extra,
    }


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'whatsapp.db'}"


def signed_bridge_post(
    base: str, event: dict[str, Any], secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> httpx.Response:
    """POST one sidecar event exactly as the contract says the sidecar signs it."""
    raw = json.dumps(event).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "X-WA-Event-Id": event["id"],
        "X-WA-Timestamp": str(ts),
        "X-WA-Signature": sign_bridge_webhook(secret, ts, raw),
    }
    return httpx.post(f"{base}/webhook/whatsapp/baileys", content=raw, headers=headers)


def bridge_event(kind: str, **data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": kind, "created_at": "2026-01-01T00:00:00Z", "data": data}


def signed_twilio_post(
    base: str,
    form: dict[str, str],
    token: str = TWILIO_TOKEN,
    headers: dict[str, str] | None = None,
    public_base: str | None = None,
) -> httpx.Response:
    """POST as Twilio does: signed over the public URL (PUBLIC_BASE_URL when the gateway has one)."""
    path = "/webhook/whatsapp/twilio"
    signature = RequestValidator(token).compute_signature((public_base or base) + path, form)
    return httpx.post(base + path, data=form, headers={"X-Twilio-Signature": signature, **(headers or {})})


def start_wa_gateway(**env: str) -> ServerProcess:
    """`python -m voice_gateway` with WhatsApp settings, as tests/conftest.py starts it for voice."""
    base = {
        "PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "WS_MODE": "ECHO",
        "TWILIO_AUTH_TOKEN": "",
        "LOG_LEVEL": "INFO",
    }
    return ServerProcess(python_module("voice_gateway"), {**base, **env}, "GATEWAY_LISTENING").start()


def base_url(proc: ServerProcess) -> str:
    return f"http://127.0.0.1:{proc.port}"


def messages_of(proc: ServerProcess, who: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base_url(proc)}/api/whatsapp/messages", params={"contact": who}, headers=BEARER)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found
