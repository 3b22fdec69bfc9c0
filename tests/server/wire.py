"""Raw TCP clients for the listener's tests: any bytes, from any loopback address, with half-closes."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# Only a bound on a hang: every test below expects the server to act long before it.
HANG_S = 30.0


async def open_from(
    port: int, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the gateway from `source` (any 127.0.0.0/8 address: a different client to the server)."""
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


@contextlib.asynccontextmanager
async def connection(
    port: int, source: str = "127.0.0.1"
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await open_from(port, source)
    try:
        yield reader, writer
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length: its status and body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANG_S)
    status = int(head.split(b" ", 2)[1])
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(match.group(1))) if match else b""
    return status, body


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server still sends until it closes the connection (a reset counts as closed)."""
    try:
        return await asyncio.wait_for(reader.read(), HANG_S)
    except ConnectionResetError:
        return b""


async def healthz_status(port: int, source: str = "127.0.0.1") -> int:
    async with connection(port, source) as (reader, writer):
        writer.write(HEALTHZ)
        return (await read_response(reader))[0]
