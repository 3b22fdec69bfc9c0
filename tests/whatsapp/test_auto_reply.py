"""Auto-reply: an incoming text is answered by the agent's Chat RPC, through the provider it came by."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AgentProcess, GatewayFactory
from tests.procs import ServerProcess
from tests.whatsapp.conftest import (
    base_url,
    contact,
    gateway_env,
    messages_of,
    signed_twilio_post,
    sqlite_url,
    twilio_env,
)

pytestmark = pytest.mark.integration


def test_an_incoming_twilio_text_is_answered_by_the_agent_through_twilio(
    tmp_path: Path, start_gateway: GatewayFactory, agent: AgentProcess, fake_twilio: ServerProcess
) -> None:
    gateway = start_gateway(
        **gateway_env(sqlite_url(tmp_path)),
        **twilio_env(fake_twilio),
        WHATSAPP_AUTO_REPLY="true",
        AGENT_ADDR=f"127.0.0.1:{agent.port}",
    )
    who = contact()
    for n, text in enumerate(["do you open on sunday?", "and monday?"]):
        form = {"MessageSid": f"SMq{n}{who[1:]}", "From": f"whatsapp:{who}", "Body": text}
        assert signed_twilio_post(base_url(gateway), form).status_code == 200
        # Logged once Twilio's API has answered, and the fake logs each request before answering it.
        gateway.wait_for(re.compile(f"WHATSAPP_AUTO_REPLY id=twilio:SMq{n}.* result=done"))
    lines = fake_twilio.matching(f'"To": "whatsapp:{who}"')
    sent = [json.loads(line.split("TWILIO_API_REQUEST ", 1)[1])["form"] for line in lines]
    assert all(form["From"] == "whatsapp:+14155238886" and form["Body"].strip() for form in sent)
    replies = [form["Body"] for form in sent]
    listed = messages_of(gateway, who)
    assert [(m["direction"], m["provider"], m["text"]) for m in listed] == [
        ("inbound", "twilio", "do you open on sunday?"),
        ("outbound", "twilio", replies[0]),
        ("inbound", "twilio", "and monday?"),
        ("outbound", "twilio", replies[1]),
    ]


def test_a_reply_the_agent_could_not_give_before_a_restart_is_given_after_it(
    tmp_path: Path, start_gateway: GatewayFactory, start_agent: Any, fake_twilio: ServerProcess
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{closed.getsockname()[1]}"  # nothing listens here once the socket closes
    env = {**gateway_env(sqlite_url(tmp_path)), **twilio_env(fake_twilio), "WHATSAPP_AUTO_REPLY": "true"}
    first = start_gateway(**env, AGENT_ADDR=nowhere)
    who = contact()
    form = {"MessageSid": f"SMlate{who[1:]}", "From": f"whatsapp:{who}", "Body": "anyone there?"}
    assert signed_twilio_post(base_url(first), form).status_code == 200
    first.wait_for(f"WHATSAPP_RECEIVED id=twilio:SMlate{who[1:]}")
    assert first.stop() == 0  # the agent never answered: the reply is still owed

    agent = start_agent()
    second = start_gateway(**env, AGENT_ADDR=f"127.0.0.1:{agent.port}")
    second.wait_for(re.compile(f"WHATSAPP_AUTO_REPLY id=twilio:SMlate{who[1:]} .*result=done"), timeout=30)
    listed = messages_of(second, who)
    assert [m["direction"] for m in listed] == ["inbound", "outbound"]
    assert len(fake_twilio.matching(f'"To": "whatsapp:{who}"')) == 1


def test_a_text_the_agent_refuses_is_kept_and_not_asked_about_again_after_a_restart(
    tmp_path: Path, start_gateway: GatewayFactory, agent: AgentProcess, fake_twilio: ServerProcess
) -> None:
    env = {**gateway_env(sqlite_url(tmp_path)), **twilio_env(fake_twilio), "WHATSAPP_AUTO_REPLY": "true"}
    first = start_gateway(**env, AGENT_ADDR=f"127.0.0.1:{agent.port}")
    who = contact()
    long_text = "please read all of this " * 200  # past the agent's 4,000-character Chat limit
    form = {"MessageSid": f"SMlong{who[1:]}", "From": f"whatsapp:{who}", "Body": long_text}
    assert signed_twilio_post(base_url(first), form).status_code == 200
    first.wait_for(re.compile(f"WHATSAPP_AUTO_REPLY_FAILED id=twilio:SMlong{who[1:]} agent=INVALID_ARGUMENT"))
    assert first.stop() == 0

    second = start_gateway(**env, AGENT_ADDR=f"127.0.0.1:{agent.port}")
    assert [m["text"] for m in messages_of(second, who)] == [long_text]  # stored, never lost
    assert second.stop() == 0
    # Only the first gateway asked the agent: a refusal is final, not retried at every start-up.
    assert second.matching("WHATSAPP_AUTO_REPLY_FAILED") == []
