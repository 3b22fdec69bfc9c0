"""Media Streams sockets that never send `start`: they hold no line and are closed after
WS_START_TIMEOUT_S. A few of them used to fill MAX_CONCURRENT_CALLS, so every real caller heard
"all lines are busy" for as long as the sockets stayed open (forever)."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import GatewayFactory

pytestmark = pytest.mark.integration
FORM = {"CallSid": "CA" + "3" * 32, "AccountSid": "AC1", "From": "+15005550006", "To": "+15005550001"}


async def test_idle_sockets_leave_the_lines_free_and_are_closed_with_1008(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(MAX_CONCURRENT_CALLS="2", WS_START_TIMEOUT_S="1")
    base = f"http://127.0.0.1:{gateway.port}"
    async with AsyncExitStack() as stack:
        idle = [
            await stack.enter_async_context(connect(f"ws://127.0.0.1:{gateway.port}/ws/twilio-media"))
            for _ in range(3)
        ]
        async with httpx.AsyncClient() as client:
            answer = await client.post(base + "/incoming_call", data=FORM)
        assert "<Stream" in answer.text, "idle sockets must not make callers hear all lines busy"
        for ws in idle:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                1008,
                "no start event within WS_START_TIMEOUT_S=1s",
            )
    gateway.wait_for("kind=start_timeout")
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(base + "/metrics")).text
    counted = re.search(
        r'^agentlocator_ws_protocol_violations_total\{reason="start_timeout"\} (\S+)$', metrics, re.M
    )
    assert counted is not None and float(counted.group(1)) == 3.0
