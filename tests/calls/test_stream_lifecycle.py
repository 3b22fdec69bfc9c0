"""One Media Stream's life in the endpoint, in-process: the wait for `start`, the line it holds, and a
cleanup that always runs to the end. The ASGI side is a queue the test feeds; the mode records calls."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from voice_gateway import metrics
from voice_gateway.calls.endpoint import MediaStreamEndpoint
from voice_gateway.calls.limits import CallCap
from voice_gateway.calls.modes import Send, StreamEvent
from voice_gateway.settings import Settings
from voice_gateway.twilio.media_streams import MediaStreamServer, Start, Stop, TwilioStream
from voice_gateway.twilio.twiml import STREAM_PATH

SCOPE = {
    "type": "websocket",
    "path": STREAM_PATH,
    "headers": [],
    "subprotocols": [],
    "client": ("127.0.0.1", 1),
}


class Socket:
    """The server's side of one ASGI WebSocket: the test queues what the client sends."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[MutableMapping[str, Any]] = []
        self.accepted = asyncio.Event()
        self.inbox.put_nowait({"type": "websocket.connect"})

    def client_sends(self, text: str) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "text": text})

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "websocket.accept":
            self.accepted.set()

    @property
    def closes(self) -> list[tuple[int, str]]:
        return [(m["code"], m["reason"]) for m in self.sent if m["type"] == "websocket.close"]


@dataclass
class RecordingMode:
    fail_on_close: bool = False
    events: list[StreamEvent] = field(default_factory=list)
    closed: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_event(self, event: StreamEvent) -> None:
        self.events.append(event)
        if isinstance(event, Start):
            self.started.set()

    async def aclose(self) -> None:
        self.closed += 1
        if self.fail_on_close:
            raise RuntimeError("the agent could not be told")


@dataclass
class Gateway:
    endpoint: MediaStreamEndpoint
    cap: CallCap
    modes: list[RecordingMode]

    def serve(self, socket: Socket) -> asyncio.Task[None]:
        return asyncio.ensure_future(self.endpoint(SCOPE, socket.receive, socket.send))


def gateway(fail_on_close: bool = False, **env: str) -> Gateway:
    settings = Settings.from_env({"WS_MODE": "AI", "WS_START_TIMEOUT_S": "0.05", **env})
    cap = CallCap(1)
    modes: list[RecordingMode] = []

    def build(_stream: MediaStreamServer, _send: Send, _close: object) -> RecordingMode:
        modes.append(RecordingMode(fail_on_close))
        return modes[-1]

    return Gateway(MediaStreamEndpoint(settings, build, call_cap=cap), cap, modes)


def call(call_sid: str = "CA" + "1" * 32) -> TwilioStream:
    return TwilioStream("MZ" + "2" * 32, call_sid, "AC1")


async def test_a_socket_that_never_sends_start_holds_no_line_and_is_closed_with_1008() -> None:
    gw, socket = gateway(), Socket()
    task = gw.serve(socket)
    await socket.accepted.wait()
    socket.client_sends(call().connected())
    # An accepted socket is not a call: a real caller still gets a line.
    assert not gw.cap.busy()
    async with asyncio.timeout(10):
        await task
    assert socket.closes == [(1008, "no start event within WS_START_TIMEOUT_S=0.05s")]
    assert not any(isinstance(event, Start) for event in gw.modes[0].events)
    assert gw.modes[0].closed == 1 and not gw.cap.busy()


async def test_a_started_stream_holds_its_line_until_it_stops() -> None:
    gw, socket, twilio = gateway(), Socket(), call()
    task = gw.serve(socket)
    socket.client_sends(twilio.start({}))
    await socket.accepted.wait()
    await gw.modes[0].started.wait()
    assert gw.cap.busy() and gw.cap.open_streams == 1
    socket.client_sends(twilio.stop())
    async with asyncio.timeout(10):
        await task
    assert socket.closes == [(1000, "")]
    assert not gw.cap.busy()


async def test_a_second_stream_for_a_live_call_is_refused_with_1008_and_the_first_goes_on() -> None:
    gw = gateway()
    first, second = Socket(), Socket()
    first_task = gw.serve(first)
    first.client_sends(call().start({}))
    await first.accepted.wait()
    await gw.modes[0].started.wait()
    second_task = gw.serve(second)
    second.client_sends(call().start({}))
    async with asyncio.timeout(10):
        await second_task
    assert second.closes == [(1008, f"another stream is live for CallSid {'CA' + '1' * 32}")]
    assert gw.cap.open_streams == 1 and gw.modes[1].events == []
    first.client_sends(call().stop())
    async with asyncio.timeout(10):
        await first_task
    assert first.closes == [(1000, "")] and gw.cap.open_streams == 0


async def test_an_absurd_chunk_number_cannot_leak_the_calls_line_or_its_agent_slot() -> None:
    gw, socket, twilio = gateway(), Socket(), call()
    task = gw.serve(socket)
    socket.client_sends(twilio.start({}))
    socket.client_sends(twilio.media(b"\xff" * 160))
    hostile = json.loads(twilio.media(b"\xff" * 160))
    hostile["media"]["chunk"] = "1" + "0" * 400
    socket.client_sends(json.dumps(hostile))
    socket.client_sends(twilio.stop())
    async with asyncio.timeout(10):
        await task
    assert socket.closes == [(1000, "")]
    assert gw.modes[0].closed == 1 and not gw.cap.busy()
    assert isinstance(gw.modes[0].events[-1], Stop)


class _BrokenCounter:
    def inc(self, amount: float = 1) -> None:
        raise OverflowError("cannot convert to float")


@pytest.mark.parametrize("failure", ["gap counter", "mode close"])
async def test_every_cleanup_step_runs_even_when_one_fails(
    failure: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if failure == "gap counter":
        monkeypatch.setattr(metrics, "WS_GAPS", _BrokenCounter())
    gw, socket, twilio = gateway(fail_on_close=failure == "mode close"), Socket(), call()
    task = gw.serve(socket)
    socket.client_sends(twilio.start({}))
    socket.client_sends(twilio.stop())
    with caplog.at_level(logging.ERROR, "voice_gateway.ws"):
        async with asyncio.timeout(10):
            await task
    assert gw.modes[0].closed == 1
    assert socket.closes == [(1000, "")]
    assert not gw.cap.busy()
    assert [r.getMessage().split(" ", 1)[0] for r in caplog.records] == ["WS_CLEANUP_FAILED"]
