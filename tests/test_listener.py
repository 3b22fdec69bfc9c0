"""The gateway's own listener: Media Streams upgrades to `websockets`, everything else to Hypercorn."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import signal

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import GatewayFactory
from tests.procs import ServerProcess
from tests.test_gateway_stream import http_url, new_stream, receive_json, ws_url
from voice_gateway.server.listener import is_upgrade_to

MEDIA = "/ws/twilio-media"
UPGRADE = (
    b"GET /ws/twilio-media HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (UPGRADE[:-4], True),
        (b"GET /ws/twilio-media?x=1 HTTP/1.1\r\nUPGRADE: WebSocket", True),
        (b"GET /ws/twilio-media HTTP/1.1\r\nHost: h", False),  # no Upgrade header: plain HTTP
        (b"GET /ws/other HTTP/1.1\r\nUpgrade: websocket", False),
        (b"POST /ws/twilio-media HTTP/1.1\r\nUpgrade: websocket", False),
        (b"GET /ws/twilio-media HTTP/1.1\r\nUpgrade: h2c", False),
        (b"GET /ws/twilio-media/ HTTP/1.1\r\nUpgrade: websocket", False),
        (b"garbage", False),
    ],
)
def test_only_a_websocket_upgrade_of_the_media_path_takes_the_fast_path(head: bytes, expected: bool) -> None:
    assert is_upgrade_to(head, MEDIA) is expected


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)


async def test_http_keep_alive_requests_on_one_connection_are_all_answered(
    echo_gateway: ServerProcess,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", echo_gateway.port)
    try:
        for _ in range(3):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = await _read_head(reader)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(
                next(
                    line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
                ).split(b":")[1]
            )
            await reader.readexactly(length)
    finally:
        writer.close()


@pytest.mark.parametrize("request_bytes", [b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", UPGRADE])
async def test_a_request_trickling_in_a_byte_at_a_time_is_routed_and_answered(
    echo_gateway: ServerProcess, request_bytes: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", echo_gateway.port)
    try:
        for i in range(len(request_bytes)):
            writer.write(request_bytes[i : i + 1])
            await writer.drain()
        head = await _read_head(reader)
    finally:
        writer.close()
    if request_bytes is UPGRADE:
        assert head.startswith(b"HTTP/1.1 101")
        assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455's worked example of the accept key
    else:
        assert head.startswith(b"HTTP/1.1 200")


async def test_a_websocket_upgrade_to_another_path_goes_to_hypercorn_and_is_not_accepted(
    echo_gateway: ServerProcess,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", echo_gateway.port)
    try:
        writer.write(UPGRADE.replace(b"/ws/twilio-media", b"/ws/elsewhere"))
        head = await _read_head(reader)
    finally:
        writer.close()
    assert not head.startswith(b"HTTP/1.1 101")
    async with httpx.AsyncClient() as http:
        assert (await http.get(http_url(echo_gateway) + "/healthz")).status_code == 200


async def test_a_fragmented_message_and_a_ping_are_handled_like_whole_frames(
    echo_gateway: ServerProcess,
) -> None:
    stream = new_stream()
    async with connect(ws_url(echo_gateway)) as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start({}))
        assert (await receive_json(ws))["event"] == "clear"  # ECHO mode's greeting to a new stream
        media = stream.media(b"\x22" * 160)
        await ws.send(iter([media[:50], media[50:120], media[120:]]))  # one message, three frames
        reply = await receive_json(ws)
        assert reply.get("event") == "media", reply
        assert base64.b64decode(reply["media"]["payload"]) == b"\x22" * 160  # type: ignore[index]
        await asyncio.wait_for(await ws.ping(), 10)


async def test_a_message_over_the_size_limit_closes_with_1009_and_the_server_keeps_serving(
    echo_gateway: ServerProcess,
) -> None:
    async with connect(ws_url(echo_gateway), max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:  # maybe while still sending it
            await ws.send("x" * (2 << 20))
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    async with httpx.AsyncClient() as http:
        assert (await http.get(http_url(echo_gateway) + "/healthz")).status_code == 200


async def test_sigterm_during_a_call_closes_it_and_the_gateway_exits_cleanly(
    start_gateway: GatewayFactory,
) -> None:
    # DRAIN_TIMEOUT_S=0: the call is ended at once (the drain itself: tests/server/test_drain.py).
    gateway = start_gateway(LOG_LEVEL="INFO", DRAIN_TIMEOUT_S="0")
    stream = new_stream()
    async with connect(ws_url(gateway)) as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start({}))
        await ws.send(stream.media(b"\x33" * 160))
        await receive_json(ws)
        await receive_json(ws)
        gateway.signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert await asyncio.to_thread(gateway.wait_exit) == 0
    assert gateway.matching("GATEWAY_STOPPED")


async def test_a_connection_still_sending_its_request_at_shutdown_is_closed_and_the_gateway_exits(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway()
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1")  # the head is not finished
    await writer.drain()
    gateway.signal(signal.SIGTERM)
    # Closed, never served by a stopped app (a reset when our bytes were still unread).
    with contextlib.suppress(ConnectionResetError):
        assert await asyncio.wait_for(reader.read(), 30) == b""
    writer.close()
    assert await asyncio.to_thread(gateway.wait_exit) == 0
