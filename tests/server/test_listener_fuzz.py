"""Byte-level fuzzing of the listener: whatever a client sends, and however it leaves, nothing leaks.

Partial heads, pipelined requests, garbage, huge headers, WebSocket frames good and bad, bodies cut
short, each split at random points and ended by a half-close, a close or a reset. After every example
the server must hold no connection, no task and no half-read head; after all of them the process must
have as many file descriptors open as before.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.inprocess import MEDIA_PATH, InProcessListener, open_fds
from voice_gateway.server.admission import ListenerLimits

UPGRADE = (
    f"GET {MEDIA_PATH} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
).encode()
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"


def ws_frame(opcode: int, payload: bytes, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
    """A client frame (masked, as RFC 6455 requires); lengths up to 64 KiB."""
    size = len(payload)
    head = bytes([0x80 | opcode]) + (
        bytes([0x80 | size]) if size < 126 else b"\xfe" + struct.pack("!H", size)
    )
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


pieces = st.one_of(
    st.just(HEALTHZ),
    st.just(HEALTHZ * 3),  # pipelined
    st.binary(max_size=64).map(
        lambda b: b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(b) + b
    ),
    st.just(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nshort"),
    st.just(b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    st.just(UPGRADE),
    st.just(UPGRADE.replace(MEDIA_PATH.encode(), b"/elsewhere")),
    st.just(UPGRADE.replace(MEDIA_PATH.encode(), MEDIA_PATH.encode() + b"?refuse")),
    st.binary(max_size=40).map(lambda b: ws_frame(0x1, b)),  # text, often invalid UTF-8
    st.text(max_size=20).map(lambda t: ws_frame(0x1, t.encode())),
    st.just(ws_frame(0x9, b"ping")),
    st.just(ws_frame(0x8, b"\x03\xe8")),  # close 1000
    st.just(ws_frame(0x1, b"x" * 1000)[:300]),  # a frame cut short
    st.integers(1, len(HEALTHZ) - 1).map(lambda n: HEALTHZ[:n]),  # a partial head
    st.just(b"GET / HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n"),  # past the 16 KiB head limit
    st.just(b"GET / HTTP/1.1\n\n"),
    st.binary(max_size=200),  # garbage
)


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[bytes], str]:
    data = b"".join(draw(st.lists(pieces, max_size=4)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4, unique=True)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True) if data[a:b]]
    return chunks, draw(st.sampled_from(["half-close", "close", "reset"]))


@pytest.fixture(scope="module")
def listener() -> Iterator[InProcessListener]:
    # Timeouts longer than `quiet` waits: the server must close because the client left, not on a timer.
    server = InProcessListener(ListenerLimits(header_timeout_s=30.0, keep_alive_timeout_s=30.0)).start()
    yield server
    server.stop()


def talk(listener: InProcessListener, chunks: list[bytes], ending: str) -> None:
    listener.opened += 1
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
        with contextlib.suppress(OSError):  # the server may close first (a 400, a 1002): that is fine
            for chunk in chunks:
                sock.sendall(chunk)
        if ending == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif ending == "half-close":
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):  # the server must close its side too, not wait for a timeout
                    pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversation=conversations())
def test_no_conversation_leaves_a_connection_a_task_or_a_file_descriptor_behind(
    listener: InProcessListener, conversation: tuple[list[bytes], str]
) -> None:
    chunks, ending = conversation
    before = open_fds()
    talk(listener, chunks, ending)
    listener.call(listener.quiet())
    assert open_fds() == before, os.listdir("/proc/self/fd")
