"""End to end: a message spoken on a call (the real agent, its embedded speech models, the simulator as
Twilio) or written on WhatsApp reaches `GET /api/messages`, and the owner's WhatsApp goes out through the
real Baileys sidecar (its fake socket standing in for WhatsApp's servers): delayed while the sidecar
cannot send, then delivered once."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_service.speech.piper_tts import PiperTts
from tests.conftest import AgentFactory
from tests.procs import ServerProcess
from tests.speech.conftest import line_noise, telephone
from tests.whatsapp.conftest import BEARER, base_url, contact
from tests.whatsapp.test_sidecar import Stack
from voice_gateway.tools.simulate import CallOptions, simulate_call

pytestmark = pytest.mark.integration
OWNER = "+4915112345678"
CALLER = "+15005550006"  # the simulator's default caller ID
FAST_RETRIES = {"OWNER_WHATSAPP": OWNER, "OWNER_NOTIFY_RETRY_MIN_S": "0.2", "OWNER_NOTIFY_RETRY_MAX_S": "1"}


def owner_messages(gateway: ServerProcess, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base_url(gateway)}/api/messages", params=params, headers=BEARER)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


def whatsapps_to(gateway: ServerProcess, who: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url(gateway)}/api/whatsapp/messages", params={"contact": who}, headers=BEARER
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


async def test_a_spoken_message_is_listed_and_reaches_the_owner_once_after_the_sidecar_comes_up(
    tmp_path: Path, start_agent: AgentFactory, piper: PiperTts
) -> None:
    agent = start_agent(AGENT_PIPELINE="conversation", AGENT_GREETING="Hello, how can I help?")
    stack = Stack(tmp_path, {"WS_MODE": "AI", "AGENT_ADDR": f"127.0.0.1:{agent.port}", **FAST_RETRIES})
    try:
        # The sidecar runs, but no WhatsApp session is open: every send is refused as not_connected.
        said = "Hi, this is John Smith. Please ask Doctor Patel to call me back about my crown."
        # The confirmation is said once the read-back ("John Smith, on …") has played, however long the
        # agent takes on a busy machine: a fixed gap would make the caller talk over it.
        options = CallOptions(
            base_url=base_url(stack.gateway),
            audio=line_noise(3.0) + telephone(piper, said),
            replies=(telephone(piper, "Yes, that's right.", seed=3),),
            reply_gap_ms=2500,
            keep_streaming=True,
            tail_s=4.0,
        )
        await simulate_call(options)

        taken = await asyncio.to_thread(stack.gateway.wait_for, "OWNER_MESSAGE_STORED", 30.0)
        assert f"conversation={options.call_sid}" in taken, "\n".join(agent.matching("SPEECH_"))
        await asyncio.to_thread(stack.gateway.wait_for, "OWNER_NOTIFY_RETRY", 30.0)
        (message,) = owner_messages(stack.gateway)
        assert "john smith" in message["name"].lower() and "crown" in message["reason"].lower()
        assert (message["number"], message["number_is_caller_id"]) == (CALLER, True)
        assert (message["channel"], message["conversation_id"], message["status"]) == (
            "voice",
            options.call_sid,
            "new",
        )
        delayed = message["notification"]
        assert delayed["state"] == "pending" and delayed["last_error"].startswith("not_connected")

        stack.start_session()
        stack.fake("connection", {"connection": "open"})
        await asyncio.to_thread(stack.gateway.wait_for, f"OWNER_NOTIFIED id={message['id']}", 30.0)
        (sent,) = owner_messages(stack.gateway)
        assert sent["notification"]["state"] == "sent" and sent["notification"]["attempts"] >= 2
        attempts = whatsapps_to(stack.gateway, OWNER)
        delivered = [m for m in attempts if m["provider_id"]]
        assert len(delivered) == 1 and delivered[0]["id"] == sent["notification"]["whatsapp_message_id"]
        assert {m["status"] for m in attempts if not m["provider_id"]} <= {"failed"}  # refused, never sent
        assert "John Smith" in delivered[0]["text"] and CALLER in delivered[0]["text"]
        assert len(stack.bridge.matching("send handed to the socket")) == 1
    finally:
        stack.stop()


async def test_a_message_left_on_whatsapp_is_stored_once_and_sent_to_the_owner(
    tmp_path: Path, start_agent: AgentFactory
) -> None:
    agent = start_agent()
    stack = Stack(
        tmp_path, {"WHATSAPP_AUTO_REPLY": "true", "AGENT_ADDR": f"127.0.0.1:{agent.port}", **FAST_RETRIES}
    )
    try:
        stack.start_session()
        stack.fake("connection", {"connection": "open"})
        who = contact()

        def write(text: str) -> str:
            wa_id = stack.fake("incoming", {"from": who, "text": text})["id"]
            stack.gateway.wait_for(re.compile(f"WHATSAPP_AUTO_REPLY id=baileys:{wa_id} .*result=done"))
            return str(whatsapps_to(stack.gateway, who)[-1]["text"])

        asked = await asyncio.to_thread(write, "Hi, this is Jo Bloggs, please take a message about my crown")
        assert (
            asked
            == f"Let me read that back: Jo Bloggs, on the number you're calling from, {who}. Is that right?"
        )
        done = await asyncio.to_thread(write, "yes")
        assert "I've passed your message on" in done
        (message,) = owner_messages(stack.gateway)
        assert (message["name"], message["number"], message["reason"], message["channel"]) == (
            "Jo Bloggs",
            who,
            "My crown",
            "whatsapp",
        )
        await asyncio.to_thread(stack.gateway.wait_for, f"OWNER_NOTIFIED id={message['id']}", 30.0)
        (to_owner,) = whatsapps_to(stack.gateway, OWNER)
        assert to_owner["provider_id"] and "Jo Bloggs" in to_owner["text"] and "My crown" in to_owner["text"]
    finally:
        stack.stop()
