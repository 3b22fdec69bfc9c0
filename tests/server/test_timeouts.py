"""A connection that stops half-way is closed: the request head, the keep-alive wait, the client's EOF."""

from __future__ import annotations

import pytest

from tests.conftest import GatewayFactory
from tests.server.wire import HEALTHZ, closed_by_server, connection, read_response

# Timeouts long enough that only the behaviour under test can close the connection before HANG_S.
LONG = "600"


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n", id="GET held by our listener"),
        pytest.param(b"POST /incoming_call HTTP/1.1\r\nHost: x\r\n", id="POST handed to Hypercorn"),
        pytest.param(b"", id="nothing sent"),
    ],
)
async def test_a_request_head_that_never_ends_is_closed_after_the_header_timeout(
    start_gateway: GatewayFactory, partial: bytes
) -> None:
    gateway = start_gateway(HEADER_TIMEOUT_S="0.5", KEEP_ALIVE_TIMEOUT_S=LONG)
    async with connection(gateway.port) as (reader, writer):
        writer.write(partial)
        assert await closed_by_server(reader) == b""
    gateway.wait_for("CONNECTION_TIMEOUT phase=head")


async def test_the_next_request_head_on_a_kept_alive_connection_has_the_header_timeout_too(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(HEADER_TIMEOUT_S="0.5", KEEP_ALIVE_TIMEOUT_S=LONG)
    async with connection(gateway.port) as (reader, writer):
        writer.write(HEALTHZ)
        assert (await read_response(reader))[0] == 200
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert await closed_by_server(reader) == b""


async def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(HEADER_TIMEOUT_S=LONG, KEEP_ALIVE_TIMEOUT_S="0.5")
    async with connection(gateway.port) as (reader, writer):
        writer.write(HEALTHZ)
        assert (await read_response(reader))[0] == 200
        assert await closed_by_server(reader) == b""


@pytest.mark.parametrize("requests_first", [0, 1, 2], ids=["before a request", "after one", "after two"])
async def test_a_client_that_closes_its_side_is_closed_at_once_not_left_in_close_wait(
    start_gateway: GatewayFactory, requests_first: int
) -> None:
    # Connect-and-close cycles once left each socket in CLOSE-WAIT for the keep-alive timeout (75 s):
    # 1,100 of them in 6 s ran the process out of file descriptors.
    gateway = start_gateway(HEADER_TIMEOUT_S=LONG, KEEP_ALIVE_TIMEOUT_S=LONG)
    async with connection(gateway.port) as (reader, writer):
        for _ in range(requests_first):
            writer.write(HEALTHZ)
            assert (await read_response(reader))[0] == 200
        writer.write_eof()
        assert await closed_by_server(reader) == b""


async def test_with_ws_server_hypercorn_the_same_timeouts_and_prompt_close_apply(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(WS_SERVER="hypercorn", HEADER_TIMEOUT_S="0.5", KEEP_ALIVE_TIMEOUT_S=LONG)
    async with connection(gateway.port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert await closed_by_server(reader) == b""
    async with connection(gateway.port) as (reader, writer):
        writer.write(HEALTHZ)
        assert (await read_response(reader))[0] == 200
        writer.write_eof()
        assert await closed_by_server(reader) == b""
