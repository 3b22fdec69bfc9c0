"""The console in a real browser (Debian's chromium via playwright-core) against real processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from agentlocator.agent.v1 import agent_pb2 as pb
from websockets.asyncio.client import connect

from agentlocator_common.telephone_audio import FRAME_BYTES, MULAW_SILENCE
from tests.conftest import GatewayFactory
from tests.console.browser import Browser, screenshot_dir
from tests.procs import ServerProcess
from tests.scripted_agent import ScriptedCall, start_scripted_agent
from tests.whatsapp.conftest import (
    contact,
    gateway_env,
    twilio_env,
    twilio_requests,
)
from tests.whatsapp.test_sidecar import Stack
from voice_gateway.tools.simulate import parse_connect_stream
from voice_gateway.twilio.media_streams.caller import TwilioStream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
PASSWORD = "browser-console-password"


def url(proc: ServerProcess) -> str:
    return f"http://127.0.0.1:{proc.port}"


def test_the_qr_code_appears_refreshes_when_rotated_and_gives_way_to_connected(
    tmp_path: Path, browsers: list[Browser]
) -> None:
    stack = Stack(tmp_path, {"CONSOLE_PASSWORD": PASSWORD})
    try:
        browser = Browser("pairing", url(stack.gateway), PASSWORD, screenshot_dir(tmp_path))
        browsers.append(browser)
        browser.expect("SIGNED_IN")
        assert "now" in browser.expect("READY")  # the page's own Start button started the session
        stack.fake("connection", {"qr": "2@first-pairing-code"})
        browser.go()
        first = browser.expect("QR_SHOWN")
        stack.fake("connection", {"qr": "2@rotated-pairing-code"})
        browser.go()
        assert browser.expect("QR_ROTATED") != first
        stack.fake("connection", {"connection": "open"})
        browser.go()
        assert "connected as +" in browser.expect("CONNECTED")
        browser.finish()
    finally:
        stack.stop()


@contextlib.asynccontextmanager
async def scripted_agent(script: object) -> AsyncIterator[int]:
    server, port, _ = await start_scripted_agent(script)  # type: ignore[arg-type]
    try:
        yield port
    finally:
        await server.stop(0)


async def place_call(base: str, call_sid: str, caller: str) -> int | None:
    """Be Twilio for one call: webhook, stream start, a little audio, then listen until the line closes."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{base}/incoming_call", data={"CallSid": call_sid, "From": caller, "To": "+15005550001"}
        )
    instructions = parse_connect_stream(answer.text)
    stream = TwilioStream("MZ" + call_sid[2:], call_sid, "AC" + "1" * 32)
    async with connect(base.replace("http", "ws", 1) + "/ws/twilio-media") as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start(instructions.parameters))
        for _ in range(20):
            await ws.send(stream.media(bytes([MULAW_SILENCE]) * FRAME_BYTES))
        async for _ in ws:
            pass  # whatever the agent plays; the loop ends when the gateway closes the stream
        return ws.close_code


async def test_a_live_calls_transcript_appears_as_spoken_and_the_operator_can_hang_up(
    start_gateway: GatewayFactory, tmp_path: Path, browsers: list[Browser]
) -> None:
    go_on = asyncio.Event()
    hangups: list[str] = []

    async def conversation(call: ScriptedCall) -> None:
        await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
        await call.send(
            transcript=pb.Transcript(role=pb.ROLE_AGENT, text="Hello, how can I help?", is_final=True)
        )
        await go_on.wait()
        await call.send(transcript=pb.Transcript(role=pb.ROLE_USER, text="When are you open?", is_final=True))
        turn = pb.Metrics(endpointing_ms=500, stt_ms=180, llm_first_token_ms=420, tts_first_audio_ms=150)
        turn.turn_latency_ms = 1260
        await call.send(metrics=turn)
        await call.send(transcript=pb.Transcript(role=pb.ROLE_AGENT, text="We're open", is_final=False))
        await call.send(
            transcript=pb.Transcript(role=pb.ROLE_AGENT, text="We're open nine to five.", is_final=True)
        )
        hangup = await call.wait_for(lambda r: r.WhichOneof("event") == "hangup", within_s=600)
        hangups.append(hangup.hangup.reason)
        await call.finish()

    async with scripted_agent(conversation) as port:
        gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{port}", CONSOLE_PASSWORD=PASSWORD)
        browser = Browser("live-call", url(gateway), PASSWORD, screenshot_dir(tmp_path))
        browsers.append(browser)
        await asyncio.to_thread(browser.expect, "READY")
        call_sid = "CA" + "c0" * 16
        caller = asyncio.create_task(place_call(url(gateway), call_sid, "+447700900123"))
        browser.go()
        await asyncio.to_thread(browser.expect, "FIRST_LINE")  # seen while the call is still going
        assert not caller.done()
        go_on.set()
        browser.go()
        heading = await asyncio.to_thread(browser.expect, "TRANSCRIPT_SEEN")
        assert "+447700900123" in heading and "AI" in heading
        await asyncio.to_thread(browser.expect, "HUNG_UP")
        assert await caller == 1000
        await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call={call_sid}")
        assert hangups == ["hung up by operator"]
        browser.go()
        chart = await asyncio.to_thread(browser.expect, "HISTORY_SEEN")
        assert "endpointing 500 ms, stt 180 ms, llm 420 ms, tts 150 ms; total 1260 ms" in chart
        await asyncio.to_thread(browser.finish)


def test_a_whatsapp_message_sent_from_the_console_goes_through_twilio_and_shows_in_the_history(
    start_gateway: GatewayFactory, fake_twilio: ServerProcess, tmp_path: Path, browsers: list[Browser]
) -> None:
    who = contact()
    env = gateway_env(f"sqlite:///{tmp_path}/wa.db", **twilio_env(fake_twilio), CONSOLE_PASSWORD=PASSWORD)
    gateway = start_gateway(**env)
    browser = Browser("whatsapp", url(gateway), PASSWORD, screenshot_dir(tmp_path), contact=who)
    browsers.append(browser)
    detail = browser.expect("SENT")
    assert "outbound · twilio · queued" in detail
    sent = twilio_requests(fake_twilio)
    assert [r["form"]["To"] for r in sent] == [f"whatsapp:{who}"]
    assert sent[0]["form"]["Body"] == "Your appointment is confirmed for Tuesday at 10."
    assert "Bright Smile Dental" in browser.expect("KNOWLEDGE_SEEN")
    browser.finish()


def test_the_play_button_plays_the_greeting_in_the_agents_voice(
    start_gateway: GatewayFactory, agent: ServerProcess, tmp_path: Path, browsers: list[Browser]
) -> None:
    gateway = start_gateway(AGENT_ADDR=f"127.0.0.1:{agent.port}", CONSOLE_PASSWORD=PASSWORD)
    browser = Browser("greeting", url(gateway), PASSWORD, screenshot_dir(tmp_path))
    browsers.append(browser)
    player = json.loads(browser.expect("GREETING_PLAYING"))
    assert player["error"] is None and player["visible"] is True
    assert player["duration"] > 1.0  # the whole greeting, not a click or an empty file
    assert "Playing what a caller hears (spoken in" in player["status"]
    agent.wait_for("SYNTHESIZED tts=piper")
    browser.finish()
