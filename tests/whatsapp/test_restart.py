"""Nothing is lost when the gateway restarts between a send and its status webhook (both databases)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.procs import ServerProcess
from tests.whatsapp.conftest import (
    BEARER,
    TWILIO_SID,
    base_url,
    contact,
    gateway_env,
    messages_of,
    signed_twilio_post,
    sqlite_url,
    twilio_env,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_gateway_restarted_between_send_and_status_webhook_loses_nothing(
    database: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    start_gateway: GatewayFactory,
    fake_twilio: ServerProcess,
) -> None:
    url = sqlite_url(tmp_path) if database == "sqlite" else request.getfixturevalue("postgres_url")
    env = {
        **gateway_env(url),
        **twilio_env(fake_twilio),
        "TWILIO_AUTH_TOKEN": twilio_env(fake_twilio)["TWILIO_AUTH_TOKEN"],
    }
    first = start_gateway(**env)
    first.wait_for(f"WHATSAPP_READY store={database}")
    who = contact()
    inbound = {"MessageSid": "SMin" + who[1:], "From": f"whatsapp:{who}", "Body": "table for two?"}
    assert signed_twilio_post(base_url(first), inbound).status_code == 200
    sent = httpx.post(
        f"{base_url(first)}/api/whatsapp/messages",
        json={"to": who, "text": "yes, at 7", "provider": "twilio"},
        headers=BEARER,
    ).json()
    assert first.stop() == 0

    second = start_gateway(**env)
    callback = {"MessageSid": sent["provider_id"], "MessageStatus": "delivered", "AccountSid": TWILIO_SID}
    assert signed_twilio_post(base_url(second), callback).status_code == 200
    second.wait_for(f"WHATSAPP_STATUS provider=twilio provider_id={sent['provider_id']} status=delivered")
    listed = messages_of(second, who)
    assert [(m["direction"], m["text"], m["status"]) for m in listed] == [
        ("inbound", "table for two?", "received"),
        ("outbound", "yes, at 7", "delivered"),
    ]
    assert listed[1]["id"] == sent["id"] and listed[1]["provider_id"] == sent["provider_id"]
