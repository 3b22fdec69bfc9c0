"""Logs: JSON with LOG_FORMAT=json, readable lines otherwise; call_sid/stream_sid on a call's lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets

import pytest
from websockets.asyncio.client import connect

from agentlocator_common import logs
from tests.agent_service.client import agent_stub, hangup, read_to_end, start_call
from tests.conftest import AgentFactory, GatewayFactory
from tests.procs import ServerProcess
from voice_gateway.settings import Settings, SettingsError
from voice_gateway.twilio.media_streams import TwilioStream


async def one_short_call(gateway: ServerProcess) -> TwilioStream:
    stream = TwilioStream(
        "MZ" + secrets.token_hex(16), "CA" + secrets.token_hex(16), "AC" + secrets.token_hex(16)
    )
    async with connect(f"ws://127.0.0.1:{gateway.port}/ws/twilio-media") as ws:
        await ws.send(stream.connected())
        await ws.send("not json")  # a bad frame: its WS_BAD_FRAME line is part of the call
        await ws.send(stream.start({}))
        for _ in range(3):
            await ws.send(stream.media(b"\xff" * 160))
        await ws.send(stream.stop())
    return stream


@pytest.mark.integration
async def test_json_logs_carry_the_call_and_stream_sid_on_every_line_of_the_call(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(LOG_FORMAT="json", WS_MODE="SINK")
    stream = await one_short_call(gateway)
    gateway.wait_for("WS_STOP")
    entries = [json.loads(line) for line in gateway.lines if not line.startswith("GATEWAY_LISTENING")]
    by_event = {entry["event"]: entry for entry in entries}
    for event in ("WS_START", "WS_STOP"):
        assert by_event[event]["call_sid"] == stream.call_sid, event
        assert by_event[event]["stream_sid"] == stream.stream_sid, event
        assert by_event[event]["message"].startswith(event + " ")
        assert {"ts", "level", "logger"} <= set(by_event[event])
    # Lines before `start` belong to no call yet, so they carry no identifiers.
    assert "call_sid" not in by_event["WS_CONNECTED"]
    assert "call_sid" not in by_event["WS_BAD_FRAME"]


@pytest.mark.integration
async def test_readable_logs_keep_the_ws_event_first_and_append_the_call(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(WS_MODE="SINK")
    stream = await one_short_call(gateway)
    line = gateway.wait_for("WS_STOP sid=")
    assert " voice_gateway.ws WS_STOP sid=" in line
    assert line.endswith(f" call_sid={stream.call_sid} stream_sid={stream.stream_sid}")
    assert not gateway.matching("WS_CONNECTED")[0].endswith(stream.stream_sid)


@pytest.mark.integration
async def test_the_ai_bridge_lines_of_a_call_carry_its_sids_too(
    start_gateway: GatewayFactory, agent: ServerProcess
) -> None:
    gateway = start_gateway(LOG_FORMAT="json", WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}")
    stream = await one_short_call(gateway)
    gateway.wait_for("AI_CALL_END")
    entries = [json.loads(line) for line in gateway.lines if line.startswith("{")]
    for event in ("AI_CALL_START", "AI_CALL_END"):
        (entry,) = [e for e in entries if e["event"] == event]
        assert (entry["call_sid"], entry["stream_sid"]) == (stream.call_sid, stream.stream_sid), event


@pytest.mark.integration
async def test_the_agent_logs_json_too_with_the_sids_on_its_call_lines(start_agent: AgentFactory) -> None:
    agent = start_agent(LOG_FORMAT="json")
    async with agent_stub(agent.port) as stub:
        call = await start_call(stub, "CA-json")
        await call.write(hangup())
        await call.done_writing()
        await read_to_end(call)
    await asyncio.to_thread(agent.wait_for, "CALL_END call=CA-json")
    entries = [json.loads(line) for line in agent.lines if line.startswith("{")]
    for event in ("CALL_START", "CALL_END"):
        (entry,) = [e for e in entries if e["event"] == event]
        assert (entry["call_sid"], entry["stream_sid"]) == ("CA-json", "MZ-CA-json"), event
    # Only the two machine-read markers are plain lines.
    plain = [line for line in agent.lines if not line.startswith("{")]
    assert [line.split()[0] for line in plain] == ["AGENT_METRICS_LISTENING", "AGENT_LISTENING"]


def test_a_record_logged_with_an_exception_stays_one_json_line() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.CallContextFilter())
    logger = logging.getLogger("tests.deploy.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logs.bind_call("CA1", "MZ1")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("AI_CALL_FAILED reason=%s", "boom")
    finally:
        logs.bind_call("", "")
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["event"] == "AI_CALL_FAILED"
    assert (entry["call_sid"], entry["stream_sid"]) == ("CA1", "MZ1")
    assert "ValueError: boom" in entry["exc"]


def test_log_format_accepts_text_and_json_and_names_the_variable_otherwise() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT='xml' is invalid"):
        Settings.from_env({"LOG_FORMAT": "xml"})
