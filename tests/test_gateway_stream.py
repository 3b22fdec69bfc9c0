"""The real gateway, driven over loopback by real WebSocket clients and the simulator, on both WS servers."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentlocator_common.telephone_audio import mulaw_encode
from tests.conftest import AUTH_TOKEN, GatewayFactory, gateway_factory
from tests.procs import ROOT, ServerProcess
from voice_gateway.tools.simulate import CallOptions, simulate_call
from voice_gateway.twilio.media_streams import TwilioStream
from voice_gateway.twilio.signatures import TwilioSignatures

pytestmark = pytest.mark.integration


# Every test here runs against both WebSocket servers (WS_SERVER): what Twilio sees must not differ.
@pytest.fixture(scope="module", params=["websockets", "hypercorn"])
def echo_gateway(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    start, started = gateway_factory(tmp_path_factory.mktemp("gateway"))
    yield start(WS_SERVER=request.param)
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module", params=["websockets", "hypercorn"])
def signed_gateway(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    start, started = gateway_factory(tmp_path_factory.mktemp("gateway"))
    yield start(TWILIO_AUTH_TOKEN=AUTH_TOKEN, WS_SERVER=request.param)
    for proc in started:
        proc.stop()


def tone(seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return mulaw_encode((np.sin(2 * np.pi * hz * t) * 9000).astype(np.int16))


def ws_url(gateway: ServerProcess) -> str:
    return f"ws://127.0.0.1:{gateway.port}/ws/twilio-media"


def http_url(gateway: ServerProcess) -> str:
    return f"http://127.0.0.1:{gateway.port}"


def new_stream() -> TwilioStream:
    return TwilioStream(
        "MZ" + secrets.token_hex(16), "CA" + secrets.token_hex(16), "AC" + secrets.token_hex(16)
    )


@asynccontextmanager
async def started_stream(
    gateway: ServerProcess, **connect_args: object
) -> AsyncIterator[tuple[ClientConnection, TwilioStream]]:
    stream = new_stream()
    async with connect(ws_url(gateway), **connect_args) as ws:  # type: ignore[arg-type]
        await ws.send(stream.connected())
        await ws.send(stream.start({}))
        yield ws, stream


async def receive_json(ws: ClientConnection) -> dict[str, object]:
    frame = await asyncio.wait_for(ws.recv(), 10)
    decoded = json.loads(frame)
    assert isinstance(decoded, dict)
    return decoded


async def metric(gateway: ServerProcess, name: str, labels: str = "") -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(http_url(gateway) + "/metrics")).text
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


# -- the handshake (Twilio error 31920 when wrong) -------------------------------------------------


async def test_the_handshake_without_a_subprotocol_is_answered_without_one(
    echo_gateway: ServerProcess,
) -> None:
    async with connect(ws_url(echo_gateway), origin=None) as ws:
        assert ws.subprotocol is None
        assert ws.response is not None and "Sec-WebSocket-Protocol" not in ws.response.headers
        assert ws.response.status_code == 101


async def test_the_twilio_subprotocol_is_echoed_only_when_offered(echo_gateway: ServerProcess) -> None:
    async with connect(ws_url(echo_gateway), subprotocols=["audio.twilio.com"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "audio.twilio.com"
    async with connect(ws_url(echo_gateway), subprotocols=["chat"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol is None


async def test_wscat_with_the_twilio_subprotocol_connects_and_gets_replies(
    echo_gateway: ServerProcess,
) -> None:
    wscat = ROOT / "tests" / "js" / "node_modules" / ".bin" / "wscat"
    assert wscat.exists(), "run `make install` (npm ci in tests/js)"
    assert shutil.which("node")
    mark = len(echo_gateway.lines)
    stream = new_stream()
    # wscat quits when its stdin reaches EOF, so stdin stays an open pipe until it has finished.
    proc = await asyncio.create_subprocess_exec(
        str(wscat),
        "-s",
        "audio.twilio.com",
        "-c",
        ws_url(echo_gateway),
        "-x",
        stream.connected(),
        "-x",
        stream.start({}),
        "-w",
        "1",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    output = (await proc.stdout.read()).decode()
    assert json.loads(output.strip().splitlines()[0]) == {"event": "clear", "streamSid": stream.stream_sid}
    echo_gateway.wait_for("WS_CONNECTED mode=ECHO subprotocol=audio.twilio.com", start=mark)
    echo_gateway.wait_for(f"WS_START sid={stream.stream_sid}", start=mark)


# -- ECHO: what the caller says comes back -------------------------------------------------------


async def test_an_echo_call_returns_exactly_the_audio_sent(echo_gateway: ServerProcess) -> None:
    audio = tone(2.5)
    options = CallOptions(
        base_url=http_url(echo_gateway), audio=audio, realtime=False, wait_for_bytes=len(audio)
    )
    report = await simulate_call(options)
    assert bytes(report.received_audio) == audio
    assert report.played == audio  # the playout clock played it all, nothing was cleared
    assert report.clears_received == 1  # ECHO clears Twilio's buffer first
    assert report.marks_received == ["echo-1", "echo-2"]  # one per second of audio
    assert report.marks_echoed == ["echo-1", "echo-2"]
    assert report.twilio_warnings == []
    assert report.close_code == 1000
    assert report.status_callback_codes == [204, 204]
    assert report.action_status == 200 and report.action_content_type.startswith("text/xml")
    stop = echo_gateway.wait_for(f"WS_STOP sid={options.stream_sid}")
    assert "frames=130 rx=125 tx=125 gaps=0 bad=0 marks=2/2" in stop


async def test_an_echo_call_in_real_time_plays_back_on_the_media_clock(echo_gateway: ServerProcess) -> None:
    audio = tone(1.0, 300)
    options = CallOptions(
        base_url=http_url(echo_gateway), audio=audio, realtime=True, wait_for_bytes=len(audio)
    )
    report = await simulate_call(options)
    assert bytes(report.received_audio) == audio
    assert report.played == audio  # played on Twilio's clock, with silence wherever the buffer ran dry
    assert len(report.heard) >= len(audio)
    assert report.first_audio_delay_ms is not None


async def test_sink_mode_consumes_without_sending(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(WS_MODE="SINK")
    options = CallOptions(base_url=http_url(gateway), audio=tone(0.5), realtime=False, tail_s=0.3)
    report = await simulate_call(options)
    assert report.frames_received == 0 and report.marks_received == [] and report.clears_received == 0
    assert "rx=25 tx=0" in gateway.wait_for(f"WS_STOP sid={options.stream_sid}")


# -- bad input never kills the call or the server -----------------------------------------------


async def test_bad_frames_are_counted_logged_once_per_kind_and_the_call_goes_on(
    echo_gateway: ServerProcess,
) -> None:
    before = await metric(echo_gateway, "agentlocator_ws_bad_frames_total", '{kind="not_json"}')
    stream = new_stream()
    async with connect(ws_url(echo_gateway), max_size=None) as ws:
        await ws.send(stream.connected())
        await ws.send(stream.media(b"\xff" * 160))  # before start
        await ws.send(stream.start({}))
        assert (await receive_json(ws))["event"] == "clear"
        sid = stream.stream_sid
        bad = [
            "this is not json",
            "this is not json either",
            b"\x00\x01\x02 binary",
            json.dumps({"event": "teleport", "streamSid": sid}),
            json.dumps({"event": "media", "sequenceNumber": "3", "streamSid": sid}),
            json.dumps(
                {
                    "event": "media",
                    "sequenceNumber": "3",
                    "streamSid": sid,
                    "media": {"chunk": "2", "timestamp": "20", "payload": "%%%not base64%%%"},
                }
            ),
            "x" * (64 * 1024 + 10),
        ]
        for frame in bad:
            await ws.send(frame)
        await ws.send(stream.media(b"\x42" * 160))
        reply = await receive_json(ws)
        assert reply["event"] == "media" and reply["streamSid"] == sid
        await ws.send(stream.stop())
    stop = echo_gateway.wait_for(f"WS_STOP sid={sid}")
    assert "bad=8" in stop
    kinds = [
        line
        for line in echo_gateway.matching("WS_BAD_FRAME")
        if f"sid={sid}" in line or "kind=before_start" in line
    ]
    logged = {re.search(r"kind=(\w+)", line).group(1) for line in kinds}  # type: ignore[union-attr]
    assert {"not_json", "binary", "unknown_event", "missing_field", "bad_base64", "oversized"} <= logged
    assert len([k for k in kinds if "kind=not_json" in k and f"sid={sid}" in k]) == 1  # logged once per kind
    assert await metric(echo_gateway, "agentlocator_ws_bad_frames_total", '{kind="not_json"}') == before + 2


async def test_a_second_start_closes_only_that_socket_with_1008(echo_gateway: ServerProcess) -> None:
    async with started_stream(echo_gateway) as (ws, stream):
        await receive_json(ws)  # clear
        await ws.send(stream.start({}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "second start on one stream")
    report = await simulate_call(
        CallOptions(base_url=http_url(echo_gateway), audio=tone(0.2), realtime=False, wait_for_bytes=1600)
    )
    assert report.bytes_sent == len(report.received_audio)


async def test_a_frame_for_another_stream_closes_the_socket_with_1008(echo_gateway: ServerProcess) -> None:
    async with started_stream(echo_gateway) as (ws, _):
        await receive_json(ws)
        other = new_stream()
        await ws.send(other.media(b"\xff" * 160))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert "does not match" in closed.value.rcvd.reason


async def test_a_caller_vanishing_mid_stream_is_logged_and_the_server_keeps_serving(
    echo_gateway: ServerProcess,
) -> None:
    async with started_stream(echo_gateway) as (ws, stream):
        await receive_json(ws)
        await ws.send(stream.media(b"\x11" * 160))
        await receive_json(ws)
    closed = echo_gateway.wait_for(f"WS_CLOSED sid={stream.stream_sid}")
    assert "rx=1 tx=1" in closed
    async with httpx.AsyncClient() as http:
        assert (await http.get(http_url(echo_gateway) + "/healthz")).status_code == 200


# -- authentication -----------------------------------------------------------------------------


async def test_a_signed_call_works_end_to_end(signed_gateway: ServerProcess) -> None:
    audio = tone(0.6)
    report = await simulate_call(
        CallOptions(
            base_url=http_url(signed_gateway),
            audio=audio,
            auth_token=AUTH_TOKEN,
            realtime=False,
            wait_for_bytes=len(audio),
        )
    )
    assert bytes(report.received_audio) == audio and report.close_code == 1000
    assert report.status_callback_codes == [204, 204] and report.action_status == 200


@pytest.mark.parametrize("signature", [None, "Zm9yZ2Vk", "wrong-url"])
async def test_an_upgrade_without_a_valid_signature_is_refused_with_403(
    signed_gateway: ServerProcess, signature: str | None
) -> None:
    headers = {}
    if signature == "wrong-url":
        headers["X-Twilio-Signature"] = TwilioSignatures(AUTH_TOKEN).sign(
            "wss://elsewhere.example.com/ws/twilio-media", {}
        )
    elif signature:
        headers["X-Twilio-Signature"] = signature
    before = await metric(signed_gateway, "agentlocator_signature_failures_total", '{surface="ws"}')
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(signed_gateway), additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    assert b"X-Twilio-Signature" in refused.value.response.body
    assert (
        await metric(signed_gateway, "agentlocator_signature_failures_total", '{surface="ws"}') == before + 1
    )


async def test_a_start_whose_token_does_not_match_the_call_is_closed_with_1008(
    signed_gateway: ServerProcess,
) -> None:
    options = CallOptions(
        base_url=http_url(signed_gateway),
        audio=tone(0.2),
        auth_token=AUTH_TOKEN,
        realtime=False,
        # Well-formed and fresh, but not an HMAC of this call's sid under the gateway's secret.
        parameter_overrides={"StreamToken": f"{int(time.time())}." + "0" * 64},
    )
    report = await simulate_call(options)
    assert report.close_code == 1008
    assert "StreamToken does not match" in report.close_reason
    assert report.frames_received == 0
