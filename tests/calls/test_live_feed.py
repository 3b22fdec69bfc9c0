"""A call's live feed (`GET /calls/<CallSid>/live`) and the simulator that prints it: what the agent heard,
what it said, each turn's latency, as they happen; only for the holder of the call's StreamToken."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from agentlocator.agent.v1 import agent_pb2 as pb

from tests.conftest import GatewayFactory
from tests.procs import ROOT, ServerProcess
from tests.scripted_agent import ScriptedCall, start_scripted_agent
from voice_gateway.calls.feed import QUEUE_EVENTS, FeedEvent, LiveFeeds
from voice_gateway.calls.live_feed import feed_events
from voice_gateway.tools.simulate import CallOptions, parse_connect_stream, simulate_call
from voice_gateway.tools.simulate.live import describe
from voice_gateway.wav import write_pcm_wav


def transcript(role: int, text: str, final: bool) -> pb.Transcript:
    return pb.Transcript(role=role, text=text, is_final=final)


async def one_turn(call: ScriptedCall) -> None:
    """What the conversation pipeline sends: sentences as spoken, what was heard, the turn's metrics."""
    await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
    await call.send(transcript=transcript(pb.ROLE_AGENT, "Hello, how can I help?", False))
    await call.send(transcript=transcript(pb.ROLE_AGENT, "Hello, how can I help?", True))
    await call.wait_for(lambda r: r.WhichOneof("event") == "audio_in" and r.audio_in.seq >= 10)
    await call.send(transcript=transcript(pb.ROLE_USER, "Do you treat children?", True))
    await call.send(transcript=transcript(pb.ROLE_AGENT, "Yes, we see children of all ages.", False))
    await call.send(transcript=transcript(pb.ROLE_AGENT, "Is there anything else?", False))
    turn = pb.Metrics(endpointing_ms=500, stt_ms=300, llm_first_token_ms=0, tts_first_audio_ms=120)
    turn.turn_latency_ms = 812
    await call.send(metrics=turn)
    await call.send(transcript=transcript(pb.ROLE_AGENT, "Yes, we see children of all ages.", True))
    await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
    await call.finish()


@pytest.fixture
async def ai_gateway(start_gateway: GatewayFactory) -> AsyncIterator[ServerProcess]:
    server, port, _ = await start_scripted_agent(one_turn)
    yield start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{port}")
    await server.stop(0)


def base(gateway: ServerProcess) -> str:
    return f"http://127.0.0.1:{gateway.port}"


@pytest.mark.integration
async def test_the_simulator_prints_what_the_agent_heard_and_said_and_each_turns_latency(
    ai_gateway: ServerProcess, tmp_path: Path
) -> None:
    wav = tmp_path / "hello.wav"
    write_pcm_wav(wav, (np.sin(np.arange(16000) / 16000 * 2 * np.pi * 300) * 9000).astype(np.int16), 16000)
    argv = ["-m", "voice_gateway.tools.simulate", "--base", base(ai_gateway), "--wav", str(wav), "--fast"]
    loud, quiet = await asyncio.gather(
        asyncio.to_thread(_run, *argv, "--tail", "1"),
        asyncio.to_thread(_run, *argv, "--tail", "1", "--quiet"),
    )
    assert loud.returncode == 0, loud.stderr
    conversation = loud.stdout.split("frames sent")[0].splitlines()
    assert conversation == [
        "agent said: Hello, how can I help?",
        "agent heard: Do you treat children?",
        "agent said: Yes, we see children of all ages.",
        "agent said: Is there anything else?",
        "turn: 812 ms (endpointing 500, stt 300, brain 0, tts 120)",
        'caller cut in; of that they heard: "Yes, we see children of all ages."',
        "call ended: caller hung up",
    ]
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.startswith("frames sent") and "agent" not in quiet.stdout


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)


async def _twiml_parameters(http: httpx.AsyncClient, call_sid: str) -> dict[str, str]:
    answer = await http.post("/incoming_call", data={"CallSid": call_sid, "From": "+15005550006"})
    return parse_connect_stream(answer.text).parameters


@pytest.mark.integration
async def test_a_feed_needs_the_calls_own_token_and_takes_one_listener(ai_gateway: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=base(ai_gateway), timeout=30) as http:
        ours = (await _twiml_parameters(http, "CA" + "1" * 32))["StreamToken"]
        other = (await _twiml_parameters(http, "CA" + "2" * 32))["StreamToken"]
        url = f"/calls/CA{'1' * 32}/live"
        for headers in ({}, {"Authorization": f"Bearer {other}"}, {"Authorization": "Bearer 1.abc"}):
            refused = await http.get(url, headers=headers)
            assert refused.status_code == 403, headers
        assert "StreamToken" in refused.text
        async with http.stream("GET", url, headers={"Authorization": f"Bearer {ours}"}) as first:
            assert first.status_code == 200
            assert first.headers["content-type"].startswith("text/event-stream")
            second = await http.get(url, headers={"Authorization": f"Bearer {ours}"})
            assert second.status_code == 409
        metrics = (await http.get("/metrics")).text
    assert 'agentlocator_live_feeds_total{result="forbidden"} 3.0' in metrics
    ai_gateway.wait_for("LIVE_FEED_REFUSED status=409")


@pytest.mark.integration
async def test_an_echo_call_has_no_feed_and_the_simulator_says_nothing_of_one(
    echo_gateway: ServerProcess,
) -> None:
    options = CallOptions(base_url=base(echo_gateway), audio=b"\xff" * 1600, realtime=False, tail_s=0.3)
    report = await simulate_call(options)
    assert report.live_feed_status == 404 and report.conversation == []


async def test_a_feed_whose_call_never_starts_ends_when_its_token_expires() -> None:
    feeds = LiveFeeds()
    feed = feeds.subscribe("CA1", live=False, so_far=[])
    events = [chunk async for chunk in feed_events(feeds, feed, expires_at=time.time())]
    assert events[-1] == b'event: end\ndata: {"outcome": "the call\'s stream never started"}\n\n'
    assert len(feeds) == 0  # unsubscribed: the call may be listened to again


async def test_a_listener_that_stops_reading_loses_old_events_never_the_end() -> None:
    feeds = LiveFeeds()
    feed = feeds.subscribe("CA1", live=True, so_far=[("user", "hello")])
    for n in range(QUEUE_EVENTS * 2):
        feeds.publish("CA1", "said", {"text": str(n)})
    feeds.ended("CA1", "caller hung up")
    assert feed.queue.qsize() == QUEUE_EVENTS
    events = [feed.queue.get_nowait() for _ in range(QUEUE_EVENTS)]
    assert events[-1] == FeedEvent("end", {"outcome": "caller hung up"})
    with pytest.raises(Exception, match="has ended: caller hung up"):
        feeds.subscribe("CA1", live=False, so_far=[])


def test_a_reply_the_caller_cut_short_says_what_they_heard() -> None:
    said: list[str] = []
    assert describe("said", {"text": "We open at nine."}, said) == "agent said: We open at nine."
    assert describe("said", {"text": "We close at five."}, said) == "agent said: We close at five."
    assert describe("played", {"text": "We open at nine."}, said) == (
        'caller cut in; of that they heard: "We open at nine."'
    )
    describe("said", {"text": "Goodbye."}, said)
    assert describe("played", {"text": "Goodbye."}, said) is None  # all of it was heard
