"""A knowledge edit in the console is what the next call and chat answer from, with the agent services
started once and never restarted: real gateway and agent processes on loopback."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest
from agentlocator.agent.v1 import agent_pb2 as pb
from websockets.asyncio.client import connect

from tests.conftest import AgentFactory, GatewayFactory
from tests.console.test_console_browser import scripted_agent
from tests.console.test_console_knowledge import form_fields
from tests.procs import ServerProcess
from tests.scripted_agent import ScriptedCall
from tests.whatsapp.conftest import (
    base_url,
    contact,
    gateway_env,
    signed_twilio_post,
    sqlite_url,
    twilio_env,
)
from voice_gateway.tools.simulate import parse_connect_stream
from voice_gateway.twilio.media_streams.caller import TwilioStream

pytestmark = pytest.mark.integration
PASSWORD = "knowledge-console-password"
OLD_SATURDAY = "Saturday from 9 am to 1 pm"
NEW_SATURDAY = "Saturday from 10 am to 2 pm"
BROWSER = {"Accept": "text/html"}


def sign_in(client: httpx.Client) -> None:
    login = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    response = client.post("/console/login", data={"password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 303, response.text


def edit_saturday(base: str) -> int:
    """As the owner would: open the form, change Saturday (the sentence and the hours), save."""
    with httpx.Client(base_url=base) as console:
        sign_in(console)
        fields = form_fields(console.get("/console/knowledge", headers=BROWSER).text)
        assert OLD_SATURDAY in fields["hours"]
        fields["hours"] = fields["hours"].replace(OLD_SATURDAY, NEW_SATURDAY)
        fields["day-saturday"] = "10:00-14:00"
        saved = console.post("/console/knowledge", data=fields)
    assert saved.status_code == 303, saved.text
    return int(saved.headers["Location"].rsplit("=", 1)[1])


def test_a_saturday_changed_in_the_console_is_the_next_answer_of_every_replica_without_a_restart(
    tmp_path: Path, start_gateway: GatewayFactory, start_agent: AgentFactory, fake_twilio: ServerProcess
) -> None:
    replicas = [start_agent(), start_agent()]
    pids = [agent.pid for agent in replicas]
    gateway = start_gateway(
        **gateway_env(sqlite_url(tmp_path)),
        **twilio_env(fake_twilio),
        WHATSAPP_AUTO_REPLY="true",
        # Both replicas behind one channel, balanced round-robin, as behind one DNS name.
        AGENT_ADDR="ipv4:" + ",".join(f"127.0.0.1:{agent.port}" for agent in replicas),
        CONSOLE_PASSWORD=PASSWORD,
    )
    who = contact()

    def reply_to(n: int, text: str) -> str:
        form = {"MessageSid": f"SMk{n}{who[1:]}", "From": f"whatsapp:{who}", "Body": text}
        assert signed_twilio_post(base_url(gateway), form).status_code == 200
        gateway.wait_for(re.compile(f"WHATSAPP_AUTO_REPLY id=twilio:SMk{n}.* result=done"))
        sent = [
            json.loads(line.split("TWILIO_API_REQUEST ", 1)[1])["form"] for line in fake_twilio.matching(who)
        ]
        return str(sent[-1]["Body"])

    assert all(OLD_SATURDAY in reply_to(n, "Are you open on Saturday?") for n in range(2))
    assert edit_saturday(base_url(gateway)) == 2
    assert all(NEW_SATURDAY in reply_to(n, "Are you open on Saturday?") for n in range(2, 6))
    for agent, pid in zip(replicas, pids, strict=True):
        assert agent.running and agent.pid == pid  # the same processes, never restarted
        assert len(agent.matching("KNOWLEDGE_VERSION_BUILT version=2 ")) == 1  # each took it up


async def call_until_started(base: str, call_sid: str, started: asyncio.Event) -> None:
    """Be Twilio for one call just long enough for the agent to have its SessionStart, then hang up."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{base}/incoming_call", data={"CallSid": call_sid, "From": "+447700900123"})
    stream = TwilioStream("MZ" + call_sid[2:], call_sid, "AC" + "1" * 32)
    async with connect(base.replace("http", "ws", 1) + "/ws/twilio-media") as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start(parse_connect_stream(answer.text).parameters))
        await started.wait()
        await ws.send(stream.stop())
    started.clear()


async def test_the_next_calls_session_start_carries_the_version_the_console_just_saved(
    start_gateway: GatewayFactory,
) -> None:
    sessions: list[pb.SessionStart] = []
    started = asyncio.Event()

    async def conversation(call: ScriptedCall) -> None:
        start = await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
        sessions.append(start.session_start)
        started.set()
        await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
        await call.finish()

    async with scripted_agent(conversation) as port:
        gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{port}", CONSOLE_PASSWORD=PASSWORD)
        base = f"http://127.0.0.1:{gateway.port}"
        await call_until_started(base, "CA" + "a1" * 16, started)
        await asyncio.to_thread(edit_saturday, base)
        await call_until_started(base, "CA" + "b2" * 16, started)
    first, second = sessions
    assert first.knowledge.version == 1 and "saturday: 09:00-13:00" in first.knowledge.document
    assert second.knowledge.version == 2 and "saturday: 10:00-14:00" in second.knowledge.document
    assert NEW_SATURDAY in second.knowledge.document


def test_the_greeting_preview_speaks_the_greeting_just_saved(
    start_gateway: GatewayFactory, start_agent: AgentFactory
) -> None:
    agent = start_agent()
    gateway = start_gateway(AGENT_ADDR=f"127.0.0.1:{agent.port}", CONSOLE_PASSWORD=PASSWORD)
    greeting = "Good day, Bright Smile Dental here. What can I do for you?"
    with httpx.Client(base_url=base_url(gateway), timeout=60) as console:
        sign_in(console)
        fields = form_fields(console.get("/console/knowledge", headers=BROWSER).text)
        saved = console.post("/console/knowledge", data=fields | {"greeting": greeting})
        assert saved.status_code == 303, saved.text
        page = console.get("/console/knowledge", headers=BROWSER).text
        assert f'<p id="greeting-heard">{greeting}</p>' in page
        wav = console.get("/console/knowledge/greeting.wav")
    assert wav.status_code == 200 and wav.content.startswith(b"RIFF")
    agent.wait_for(f"SYNTHESIZED tts=piper chars={len(greeting)} ")
    assert len(agent.matching("KNOWLEDGE_VERSION_BUILT version=2 ")) == 1
