"""The drain on SIGTERM, on the real gateway process: not ready, no new calls, the calls under way
finish (or are ended politely when DRAIN_TIMEOUT_S passes), then the process exits."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import GatewayFactory
from tests.test_gateway_stream import http_url, new_stream, receive_json, ws_url

FORM = {"CallSid": "CA" + "9" * 32, "From": "+15005550006", "To": "+15005550001"}


async def test_a_draining_gateway_is_not_ready_takes_no_new_call_and_exits_once_its_call_has_ended(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(DRAIN_TIMEOUT_S="120", BUSY_TEXT="All lines are busy.")
    base = http_url(gateway)
    stream = new_stream()
    async with connect(ws_url(gateway)) as ws, httpx.AsyncClient() as http:
        await ws.send(stream.connected())
        await ws.send(stream.start({}))
        await ws.send(stream.media(b"\x33" * 160))
        await receive_json(ws)
        gateway.signal(signal.SIGTERM)
        gateway.wait_for("DRAIN_STARTED streams=1")
        ready = await http.get(base + "/readyz")
        assert ready.status_code == 503 and ready.json()["draining"] is True
        refused = await http.post(base + "/incoming_call", data=FORM)
        assert "<Say>All lines are busy.</Say><Hangup />" in refused.text and "<Stream" not in refused.text
        with pytest.raises(InvalidStatus) as upgrade:
            async with connect(ws_url(gateway)):
                pass
        assert upgrade.value.response.status_code == 503
        # The call under way goes on: it is still echoed, and ends when the caller hangs up.
        await ws.send(stream.media(b"\x44" * 160))
        assert (await receive_json(ws))["event"] in {"media", "mark"}
        await ws.send(stream.stop())
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 30)
    assert await asyncio.to_thread(gateway.wait_exit) == 0
    assert gateway.matching("DRAIN_DONE left=0") and not gateway.matching("DRAIN_TIMEOUT")


async def test_a_call_still_up_when_the_drain_bound_passes_is_closed_with_1000_and_the_gateway_exits(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(DRAIN_TIMEOUT_S="0.5")
    stream = new_stream()
    async with connect(ws_url(gateway)) as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start({}))
        await ws.send(stream.media(b"\x33" * 160))
        await receive_json(ws)
        gateway.signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1000, "gateway shutting down")
    assert await asyncio.to_thread(gateway.wait_exit) == 0
    assert gateway.matching("DRAIN_TIMEOUT ending=1") and gateway.matching("GATEWAY_STOPPED")
