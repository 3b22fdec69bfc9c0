"""Load and slow-peer behaviour, bounded in count and time, on loopback only."""

from __future__ import annotations

import asyncio
import secrets

import numpy as np
import pytest
from websockets.asyncio.client import connect

from agentlocator_common.telephone_audio import mulaw_encode
from tests.conftest import AgentProcess, GatewayFactory
from tests.procs import ServerProcess
from voice_gateway.tools.simulate import CallOptions, simulate_call
from voice_gateway.twilio.media_streams import TwilioStream

pytestmark = pytest.mark.integration


def caller_audio(seconds: float, seed: int) -> bytes:
    # Each call says something different, so crossed streams would show up as a byte mismatch.
    rng = np.random.default_rng(seed)
    return mulaw_encode((rng.normal(0, 3000, int(8000 * seconds))).clip(-32768, 32767).astype(np.int16))


async def test_fifty_concurrent_ai_calls_lose_no_frame_in_either_direction(
    start_gateway: GatewayFactory, agent: AgentProcess
) -> None:
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}", LOG_LEVEL="WARNING")
    audios = [caller_audio(20.0, seed) for seed in range(50)]
    options = [
        CallOptions(
            base_url=f"http://127.0.0.1:{gateway.port}",
            audio=a,
            realtime=True,
            wait_for_bytes=len(a),
            tail_s=5.0,
        )
        for a in audios
    ]
    reports = await asyncio.gather(*(simulate_call(o) for o in options))
    for audio, report in zip(audios, reports, strict=True):
        assert report.frames_sent == 1000
        assert bytes(report.received_audio) == audio  # every frame reached the agent and came back, in order
        assert report.twilio_warnings == [] and report.close_code == 1000
    for o in options:
        assert "in_frames=1000" in agent.wait_for(f"CALL_END call={o.call_sid}")


async def test_a_caller_that_never_reads_does_not_stall_other_calls(echo_gateway: ServerProcess) -> None:
    url = f"ws://127.0.0.1:{echo_gateway.port}/ws/twilio-media"
    stuck = TwilioStream("MZ" + secrets.token_hex(16), "CA" + secrets.token_hex(16), "AC1")
    async with connect(url, max_queue=1, compression=None) as ws:
        await ws.send(stuck.connected())
        await ws.send(stuck.start({}))
        # Never read: the gateway's replies pile up until TCP pushes back on it, then on us.
        sent = 0
        try:
            for _ in range(20_000):
                await asyncio.wait_for(ws.send(stuck.media(b"\x55" * 160)), 2.0)
                sent += 1
        except TimeoutError:
            pass
        audio = caller_audio(2.0, 99)
        report = await simulate_call(
            CallOptions(
                base_url=f"http://127.0.0.1:{echo_gateway.port}",
                audio=audio,
                realtime=False,
                wait_for_bytes=len(audio),
            )
        )
        assert bytes(report.received_audio) == audio
    assert sent > 1000
