"""The browser call's socket (`/console/talk/stream`) against the real gateway process: refused before any
WebSocket exists without a console session or from another origin, and run through the Media Streams
endpoint (same modes, same call cap, stored as a browser call) once both are right."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from agentlocator.agent.v1 import agent_pb2 as pb
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from agentlocator_common.telephone_audio import FRAME_BYTES
from tests.conftest import GatewayFactory
from tests.console.test_console_browser import scripted_agent
from tests.procs import ServerProcess
from tests.scripted_agent import ScriptedCall
from voice_gateway.console.talk import TALK_PATH, same_origin, session_cookie
from voice_gateway.twilio.media_streams.caller import OutboundClear, OutboundMedia, TwilioStream

pytestmark = pytest.mark.integration
PASSWORD = "talk-console-password"
CALL_SID = "BR" + "0123456789abcdef" * 2


def base(gateway: ServerProcess) -> str:
    return f"http://127.0.0.1:{gateway.port}"


async def sign_in(gateway: ServerProcess) -> str:
    """The console's session cookie, by the login form as a browser fills it."""
    async with httpx.AsyncClient(base_url=base(gateway)) as http:
        form = await http.get("/console/login")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed = await http.post("/console/login", data={"password": PASSWORD, "csrf_token": token})
        assert signed.status_code == 303, signed.text
        return str(signed.cookies["agentlocator_console"])


@contextlib.asynccontextmanager
async def browser_socket(
    gateway: ServerProcess, cookie: str | None, origin: str
) -> AsyncIterator[ClientConnection]:
    headers = {"Origin": origin}
    if cookie is not None:
        headers["Cookie"] = f"agentlocator_console={cookie}"
    async with connect(base(gateway).replace("http", "ws", 1) + TALK_PATH, additional_headers=headers) as ws:
        yield ws


def test_origin_and_cookie_parsing() -> None:
    assert same_origin("http://127.0.0.1:8080", "127.0.0.1:8080", None)
    assert same_origin("https://console.example", "10.0.0.5:8080", "https://console.example")
    for origin in (
        None,
        "null",
        "http://127.0.0.1:8081",
        "https://evil.example",
        "file://",
        "127.0.0.1:8080",
    ):
        assert not same_origin(origin, "127.0.0.1:8080", "https://console.example"), origin
    assert session_cookie("a=1; agentlocator_console=abc; b=2") == "abc"
    assert session_cookie('bad"cookie=\x00') is None and session_cookie(None) is None


async def test_an_upgrade_without_a_session_or_from_another_site_is_refused_before_the_handshake(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD)
    cookie = await sign_in(gateway)
    own = base(gateway)
    for given, origin, status in (
        (None, own, 401),
        ("forged-session-id", own, 401),
        (cookie, "http://evil.example", 403),
        (cookie, "null", 403),
    ):
        with pytest.raises(InvalidStatus) as refused:
            async with browser_socket(gateway, given, origin):
                pass
        assert refused.value.response.status_code == status
    gateway.wait_for("BROWSER_CALL_REFUSED status=403")


async def test_a_signed_in_browser_call_is_echoed_in_echo_mode_and_a_twilio_sid_is_refused(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD)
    cookie = await sign_in(gateway)
    stream = TwilioStream("MZ" + "1" * 32, CALL_SID, "")
    async with browser_socket(gateway, cookie, base(gateway)) as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start({"From": "+15005550006", "StreamToken": "forged"}))
        assert isinstance(stream.parse_outbound(await ws.recv()), OutboundClear)
        sent = bytes(range(FRAME_BYTES))
        await ws.send(stream.media(sent))
        assert stream.parse_outbound(await ws.recv()) == OutboundMedia(sent)
        await ws.send(stream.stop())
    gateway.wait_for(f"WS_START sid=MZ{'1' * 32} call={CALL_SID}")

    twilio_like = TwilioStream("MZ" + "2" * 32, "CA" + "2" * 32, "")
    async with browser_socket(gateway, cookie, base(gateway)) as ws:
        await ws.send(twilio_like.connected())
        await ws.send(twilio_like.start({}))
        await ws.wait_closed()
        assert ws.close_code == 1008 and "BR and 32 hex digits" in (ws.close_reason or "")


async def test_in_ai_mode_a_browser_call_is_the_same_call_path_stored_as_a_browser_call(
    start_gateway: GatewayFactory,
) -> None:
    seen: list[pb.SessionStart] = []

    async def conversation(call: ScriptedCall) -> None:
        first = await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
        seen.append(first.session_start)
        await call.send(transcript=pb.Transcript(role=pb.ROLE_USER, text="Are you open?", is_final=True))
        await call.send(transcript=pb.Transcript(role=pb.ROLE_AGENT, text="Yes, until six.", is_final=True))
        await call.wait_for(lambda r: r.WhichOneof("event") == "hangup", within_s=60)
        await call.finish()

    async with scripted_agent(conversation) as port:
        gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{port}", CONSOLE_PASSWORD=PASSWORD)
        cookie = await sign_in(gateway)
        jar = {"agentlocator_console": cookie}
        async with httpx.AsyncClient(base_url=base(gateway), cookies=jar) as http:
            async with http.stream("GET", f"/console/talk/{CALL_SID}/live") as live:
                assert live.status_code == 200
                stream = TwilioStream("MZ" + "3" * 32, CALL_SID, "")
                async with browser_socket(gateway, cookie, base(gateway)) as ws:
                    await ws.send(stream.connected())
                    await ws.send(stream.start({"From": "+15005550006"}))
                    events = ""
                    async for chunk in live.aiter_text():
                        events += chunk
                        if "Yes, until six." in events:
                            break
                    await ws.send(stream.stop())
            assert "event: heard" in events and "Are you open?" in events
            await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call={CALL_SID}")
            (start,) = seen
            # Nothing the page sent is kept: no caller ID, and the channel is the gateway's word.
            assert (start.call_sid, start.from_number) == (CALL_SID, "")
            assert dict(start.custom_parameters) == {"AgentLocatorChannel": "browser"}
            history = await http.get("/console/history", headers={"Accept": "text/html"})
            assert "Browser call from the console" in history.text
            page = await http.get(f"/console/calls/{CALL_SID}", headers={"Accept": "text/html"})
            assert "browser (console)" in page.text and "Yes, until six." in page.text
            assert (await http.get("/console/talk/CA123/live")).status_code == 404
