"""The Media Streams socket's edges: invalid UTF-8 in a text message, and a refused upgrade."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.procs import ServerProcess
from tests.server.inprocess import MEDIA_PATH, InProcessListener
from tests.server.wire import closed_by_server, connection, read_response
from tests.test_gateway_stream import http_url, new_stream, receive_json, ws_url
from voice_gateway.server.admission import ListenerLimits

UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.fixture
def listener() -> Iterator[InProcessListener]:
    server = InProcessListener(ListenerLimits(header_timeout_s=30, keep_alive_timeout_s=30)).start()
    yield server
    server.stop()


async def test_invalid_utf8_in_a_text_frame_closes_the_socket_with_1007(echo_gateway: ServerProcess) -> None:
    stream = new_stream()
    async with connect(ws_url(echo_gateway)) as ws:
        await ws.send(stream.connected())
        await ws.send(stream.start({}))
        assert (await receive_json(ws))["event"] == "clear"
        await ws.send(b'{"event": "media", "x": "\xff\xfe"}', text=True)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    echo_gateway.wait_for("WS_CLOSED_INVALID_UTF8")
    async with httpx.AsyncClient() as http:
        assert (await http.get(http_url(echo_gateway) + "/healthz")).status_code == 200
    assert echo_gateway.matching("Traceback") == []


async def test_a_refused_upgrade_is_answered_once_and_its_task_ends_cleanly(
    listener: InProcessListener,
) -> None:
    listener.opened += 1
    async with connection(listener.port) as (reader, writer):
        writer.write(UPGRADE.format(path=MEDIA_PATH + "?refuse").encode())
        status, _ = await read_response(reader)
        assert status == 403
        assert await closed_by_server(reader) == b""  # one response, then the close
    await listener.acall(listener.quiet())
    assert listener.tasks.seen, "the refusal ran as a task"
    # It used to run the refusal a second time: AssertionError, "Task exception was never retrieved".
    assert [task.exception() for task in listener.tasks.seen] == [None] * len(listener.tasks.seen)
