"""Faults: a caller hanging up in the middle of the agent's reply, and the Baileys sidecar killed with
webhooks in its outbox, then restarted."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

from agentlocator_common.telephone_audio import mulaw_encode
from tests.conftest import AgentProcess, GatewayFactory
from tests.procs import ServerProcess
from tests.whatsapp.conftest import contact, messages_of
from tests.whatsapp.test_sidecar import Stack
from voice_gateway.tools.simulate import CallOptions, parse_connect_stream, simulate_call
from voice_gateway.twilio.media_streams import OutboundMedia, TwilioStream

pytestmark = pytest.mark.integration


def noise(seconds: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return mulaw_encode(rng.normal(0, 3000, int(8000 * seconds)).clip(-32768, 32767).astype(np.int16))


async def test_a_caller_hanging_up_mid_reply_ends_only_that_call_and_the_next_call_works(
    start_gateway: GatewayFactory, agent: AgentProcess
) -> None:
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}")
    base = f"http://127.0.0.1:{gateway.port}"
    call_sid = "CA" + "7" * 32
    async with httpx.AsyncClient() as client:
        twiml = await client.post(
            base + "/incoming_call", data={"CallSid": call_sid, "From": "+1555", "To": "+1"}
        )
    stream_info = parse_connect_stream(twiml.text)
    stream = TwilioStream("MZ" + "7" * 32, call_sid, "AC1")
    audio = noise(3.0, 7)
    async with connect(f"ws://127.0.0.1:{gateway.port}/ws/twilio-media") as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start(stream_info.parameters))
        for offset in range(0, len(audio), 160):
            await ws.send(stream.media(audio[offset : offset + 160]))
        # The echo pipeline answers one utterance (a second of audio) at a time: hang up on the first
        # chunk of the reply, with the rest of the reply still to come.
        while not isinstance(stream.parse_outbound(await ws.recv()), OutboundMedia):
            pass
    # Closed without a `stop`, as when the line drops.
    closed = await asyncio.to_thread(gateway.wait_for, f"WS_CLOSED sid={stream.stream_sid}")
    assert "rx=150" in closed
    await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call={call_sid}")
    agent_end = await asyncio.to_thread(agent.wait_for, f"CALL_END call={call_sid}")
    assert re.search(r"reason=\"[^\"]*(hangup|hung up|cancel)", agent_end), agent_end
    # Nothing else was affected: the next call carries every frame both ways.
    second = noise(2.0, 8)
    options = CallOptions(base_url=base, audio=second, realtime=False, wait_for_bytes=len(second))
    report = await simulate_call(options)
    assert bytes(report.received_audio) == second
    assert report.twilio_warnings == [] and report.close_code == 1000
    agent_second = await asyncio.to_thread(agent.wait_for, f"CALL_END call={options.call_sid}")
    assert "hangup" in agent_second and "in_frames=100" in agent_second
    assert gateway.running and agent.running


def wait_for_lines(proc: ServerProcess, needle: str, count: int, start: int = 0) -> list[str]:
    """Block until `count` log lines from index `start` on contain `needle`; return them."""
    found: list[str] = []
    index = start
    while len(found) < count:
        line = proc.wait_for(needle, start=index)
        index = proc.lines.index(line, index) + 1
        found.append(line)
    return found


def restart_bridge(old: ServerProcess) -> ServerProcess:
    """The same sidecar (same data dir, same settings) started again after it died."""
    return ServerProcess(old.argv, old.env, old.ready_marker).start()


def test_a_sidecar_killed_with_webhooks_in_its_outbox_delivers_them_all_once_after_restart(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path, {})
    try:
        stack.start_session()
        stack.fake("connection", {"connection": "open"})
        who = contact()
        texts = [f"message {i}" for i in range(5)]
        outbox = tmp_path / "bridge" / "outbox"
        snapshot = tmp_path / "outbox-snapshot"

        def while_the_gateway_is_down() -> None:
            for text in texts:
                stack.fake("incoming", {"from": who, "text": text})
            stack.bridge.wait_for(re.compile("webhook not delivered"))
            # The events as they sit on disk before delivery, to replay the crash window below.
            shutil.copytree(outbox, snapshot, ignore=shutil.ignore_patterns("dead"))
            stack.bridge.signal(signal.SIGKILL)
            stack.bridge.wait_exit()

        stack.restart_gateway(while_the_gateway_is_down)
        # The texts, and the session's own state events, all waited on disk.
        pending = len(list(snapshot.glob("*.json")))
        assert pending >= len(texts)
        stack.bridge = restart_bridge(stack.bridge)
        stack.bridge.wait_for("outbox: resuming undelivered webhooks")
        assert len(wait_for_lines(stack.gateway, "WHATSAPP_RECEIVED id=baileys:", len(texts))) == len(texts)
        assert [m["text"] for m in messages_of(stack.gateway, who)] == texts

        # The crash window of at-least-once delivery: killed after the gateway's 2xx, before the
        # sidecar deleted the file. Every event comes again; the store must not take any twice.
        stack.bridge.signal(signal.SIGKILL)
        stack.bridge.wait_exit()
        for event in snapshot.glob("*.json"):
            shutil.copy(event, outbox / event.name)
        mark = len(stack.gateway.lines)
        stack.bridge = restart_bridge(stack.bridge)
        replays = wait_for_lines(stack.gateway, "WHATSAPP_DUPLICATE provider=baileys", len(texts), mark)
        assert len(replays) == len(texts)
        for event in snapshot.glob("*.json"):
            # The sidecar deletes an event's file before it logs the delivery: each replay was answered 2xx.
            event_id = json.loads(event.read_text())["id"]
            stack.bridge.wait_for(re.compile(rf"{event_id}.*outbox: delivered|outbox: delivered.*{event_id}"))
            assert not (outbox / event.name).exists()
        assert not list((outbox / "dead").glob("*.json"))
        assert [m["text"] for m in messages_of(stack.gateway, who)] == texts
    finally:
        stack.stop()
