"""WS_MODE=AI end to end: simulated Twilio → gateway → one Converse stream → agent service → back."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from agentlocator.agent.v1 import agent_pb2 as pb

from agentlocator_common.telephone_audio import mulaw_encode
from tests.conftest import AgentFactory, AgentProcess, GatewayFactory
from tests.procs import ServerProcess, start_fake_twilio_api
from tests.scripted_agent import ScriptedAgent, ScriptedCall, start_scripted_agent
from voice_gateway.storage.calls import CallLog
from voice_gateway.tools.simulate import CallOptions, parse_connect_stream, simulate_call
from voice_gateway.tools.simulate.twiml_check import TwimlError

pytestmark = pytest.mark.integration
ONE_SECOND = 8000  # bytes of µ-law


def tone(seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return mulaw_encode((np.sin(2 * np.pi * hz * t) * 9000).astype(np.int16))


def base(gateway: ServerProcess) -> str:
    return f"http://127.0.0.1:{gateway.port}"


@pytest.fixture
def ai_gateway(start_gateway: GatewayFactory, agent: AgentProcess) -> ServerProcess:
    return start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}", AGENT_PING_INTERVAL_S="0.2")


@pytest.fixture
async def scripted(
    request: pytest.FixtureRequest, start_gateway: GatewayFactory
) -> AsyncIterator[tuple[ServerProcess, ScriptedAgent]]:
    script, env = request.param if isinstance(request.param, tuple) else (request.param, {})
    server, port, agent = await start_scripted_agent(script)
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{port}", **env)
    yield gateway, agent
    await server.stop(0)


async def test_an_ai_call_carries_every_frame_to_the_agent_and_back(
    ai_gateway: ServerProcess, agent: AgentProcess
) -> None:
    audio = tone(3.0)
    options = CallOptions(base_url=base(ai_gateway), audio=audio, realtime=False, wait_for_bytes=len(audio))
    report = await simulate_call(options)
    assert bytes(report.received_audio) == audio  # the echo pipeline's utterances, byte for byte
    assert report.twilio_warnings == [] and report.close_code == 1000
    assert len(report.marks_received) == 3 and report.marks_echoed == report.marks_received
    end = ai_gateway.wait_for(f"AI_CALL_END call={options.call_sid}")
    assert "to_agent=150 to_twilio=150 restarts=0" in end
    agent_end = agent.wait_for(f"CALL_END call={options.call_sid}")
    assert "hangup" in agent_end and "in_frames=150" in agent_end


async def test_the_agent_hears_the_media_clock_and_learns_its_round_trip(ai_gateway: ServerProcess) -> None:
    audio = tone(1.0)
    options = CallOptions(base_url=base(ai_gateway), audio=audio, realtime=True, wait_for_bytes=len(audio))
    await simulate_call(options)
    end = ai_gateway.wait_for(f"AI_CALL_END call={options.call_sid}")
    assert re.search(r"rtt_ms=\d+", end), end  # pings every 0.2 s answered with pongs


async def test_readiness_names_the_agent_and_follows_its_health(
    ai_gateway: ServerProcess, agent: AgentProcess
) -> None:
    async with httpx.AsyncClient() as http:
        ready = await http.get(base(ai_gateway) + "/readyz")
        assert ready.status_code == 200
        assert ready.json()["dependencies"]["agent"] == {"ready": True, "detail": "SERVING"}
        agent.kill()
        down = await http.get(base(ai_gateway) + "/readyz")
        assert down.status_code == 503 and down.json()["dependencies"]["agent"]["ready"] is False
        # What a load balancer asks: the gateway itself still takes calls (and apologises for the agent).
        own = await http.get(base(ai_gateway) + "/readyz", params={"exclude": "agent"})
        assert own.status_code == 200 and own.json()["dependencies"] == {}


async def test_a_call_while_the_agent_is_down_hears_an_apology_not_an_error(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR="127.0.0.1:9", AGENT_HEALTH_TIMEOUT_S="0.3")
    async with httpx.AsyncClient() as http:
        response = await http.post(base(gateway) + "/incoming_call", data={"CallSid": "CAdown"})
        metrics = (await http.get(base(gateway) + "/metrics")).text
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert "<Say>Sorry, we can't take your call right now." in response.text and "<Hangup />" in response.text
    with pytest.raises(TwimlError):
        parse_connect_stream(response.text)
    assert "agentlocator_agent_unavailable_total 1.0" in metrics
    gateway.wait_for("AGENT_UNAVAILABLE call=CAdown")


async def test_an_agent_restarted_mid_call_is_rejoined_and_the_call_goes_on(
    start_gateway: GatewayFactory, start_agent: AgentFactory
) -> None:
    agent = start_agent()
    # However long the new process takes to listen on a busy machine, the call waits for it.
    gateway = start_gateway(
        WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}", AGENT_RECONNECT_TIMEOUT_S="60"
    )
    audio = tone(4.0)
    options = CallOptions(base_url=base(gateway), audio=audio, realtime=True, tail_s=1.0)
    call = asyncio.create_task(simulate_call(options))
    await asyncio.to_thread(gateway.wait_for, f"AI_CALL_START call={options.call_sid}")
    await asyncio.to_thread(agent.wait_for, "CALL_START")
    agent.kill()
    start_agent(AGENT_LISTEN=f"127.0.0.1:{agent.port}")
    report = await call
    story = "\n".join(gateway.matching("AGENT") + gateway.matching("AI_CALL"))
    assert report.close_code == 1000, story
    assert report.action_status == 200 and "<Say>" not in report.action_body, story
    gateway.wait_for(f"AGENT_STREAM_RESUMED call={options.call_sid}")
    end = gateway.wait_for(f"AI_CALL_END call={options.call_sid}")
    assert "restarts=1" in end
    assert len(report.received_audio) > ONE_SECOND  # audio flowed again after the restart


async def test_an_agent_that_stays_down_ends_the_call_with_an_apology(
    start_gateway: GatewayFactory, start_agent: AgentFactory
) -> None:
    agent = start_agent()
    gateway = start_gateway(
        WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}", AGENT_RECONNECT_TIMEOUT_S="0.5"
    )
    options = CallOptions(base_url=base(gateway), audio=tone(5.0), realtime=True, tail_s=1.0)
    call = asyncio.create_task(simulate_call(options))
    await asyncio.to_thread(agent.wait_for, "CALL_START")
    agent.kill()
    report = await call
    assert (report.close_code, report.close_reason) == (1000, "agent unavailable")
    assert report.frames_sent < 250  # the call ended before the caller finished talking
    assert report.action_status == 200
    assert (
        "<Say>Sorry, we can't take your call right now." in report.action_body
        and "<Hangup />" in report.action_body
    )
    gateway.wait_for(f"AI_CALL_FAILED call={options.call_sid}")


# -- the agent's control messages, driven by a scripted agent ----------------------------------


async def talk_then_clear(call: ScriptedCall) -> None:
    await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
    await call.send(audio_out=pb.AudioOut(audio=tone(3.0, 300), utterance_id="u1", chunk_seq=0, final=True))
    await call.send(mark=pb.Mark(mark_id="m1", utterance_id="u1"))
    await call.wait_for(lambda r: r.WhichOneof("event") == "audio_in" and r.audio_in.seq >= 20)
    await call.send(clear_playback=pb.ClearPlayback(up_to_utterance_id="u1"))
    await call.wait_for(lambda r: r.WhichOneof("event") == "playback_mark")


@pytest.mark.parametrize(
    ("scripted", "mark_reaches_twilio"),
    [
        pytest.param((talk_then_clear, {}), False, id="mark-still-queued-in-the-gateway"),
        pytest.param((talk_then_clear, {"PLAYBACK_LEAD_MS": "5000"}), True, id="mark-already-at-twilio"),
    ],
    indirect=["scripted"],
)
async def test_clear_playback_interrupts_at_once_and_the_mark_counts_as_cleared(
    scripted: tuple[ServerProcess, ScriptedAgent], mark_reaches_twilio: bool
) -> None:
    gateway, agent = scripted
    options = CallOptions(base_url=base(gateway), audio=tone(1.0, 500), realtime=True, tail_s=0.5)
    report = await simulate_call(options)
    assert report.clears_received == 1
    if mark_reaches_twilio:
        # Sent ahead with all 3 s of audio: Twilio's clear flushed it and echoed the mark anyway.
        assert report.marks_received == ["m1"] and report.marks_echoed == ["m1"]
        assert len(report.received_audio) >= 3 * ONE_SECOND
        assert report.played != tone(3.0, 300)
    else:
        # Paced ~200 ms ahead of playback: at ~0.4 s only about 0.6 s of the 3 s had left the gateway.
        assert report.marks_received == []
        assert len(report.received_audio) < 2 * ONE_SECOND
    marks = [r.playback_mark for r in agent.calls[0].requests if r.WhichOneof("event") == "playback_mark"]
    assert [(m.mark_id, m.status) for m in marks] == [("m1", pb.MARK_STATUS_CLEARED)]


async def say_goodbye(call: ScriptedCall) -> None:
    await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
    await call.send(audio_out=pb.AudioOut(audio=tone(0.6, 350), utterance_id="bye", chunk_seq=0, final=True))
    await call.send(mark=pb.Mark(mark_id="bye-end", utterance_id="bye"))
    await call.send(end_call=pb.EndCall(reason="caller said goodbye", goodbye_sent=True))
    await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
    await call.finish()


@pytest.mark.parametrize("scripted", [say_goodbye], indirect=True)
async def test_end_call_closes_the_stream_only_after_the_goodbye_has_played(
    scripted: tuple[ServerProcess, ScriptedAgent],
) -> None:
    gateway, agent = scripted
    options = CallOptions(base_url=base(gateway), audio=tone(5.0), realtime=True, tail_s=3.0)
    report = await simulate_call(options)
    goodbye = tone(0.6, 350)
    assert (report.close_code, report.close_reason) == (1000, "call ended by agent")
    assert report.played == goodbye  # every byte of the goodbye played before the socket closed
    assert report.frames_sent < 200  # the agent, not the caller, ended the call
    assert report.action_status == 200 and "<Say>" not in report.action_body
    marks = [r.playback_mark for r in agent.calls[0].requests if r.WhichOneof("event") == "playback_mark"]
    assert [(m.mark_id, m.status) for m in marks] == [("bye-end", pb.MARK_STATUS_PLAYED)]


async def transfer_to_front_desk(call: ScriptedCall) -> None:
    await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
    await call.send(transfer=pb.Transfer(number="+15557654321"))
    await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
    await call.finish()


def twilio_api_env(fake_twilio_api: ServerProcess) -> dict[str, str]:
    """The gateway's Twilio account, aimed at the loopback stand-in of Twilio's REST API."""
    return {
        "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000001",
        "TWILIO_AUTH_TOKEN": "tok",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{fake_twilio_api.port}",
    }


@pytest.fixture
def fake_twilio_api() -> Iterator[ServerProcess]:
    proc = start_fake_twilio_api("AC00000000000000000000000000000001:tok")
    yield proc
    proc.stop()


async def test_transfer_redirects_the_live_call_through_twilios_rest_api(
    start_gateway: GatewayFactory, fake_twilio_api: ServerProcess
) -> None:
    server, port, _ = await start_scripted_agent(transfer_to_front_desk)
    try:
        gateway = start_gateway(
            WS_MODE="AI",
            AGENT_ADDR=f"127.0.0.1:{port}",
            **twilio_api_env(fake_twilio_api),
        )
        options = CallOptions(
            base_url=base(gateway), audio=tone(1.0), auth_token="tok", realtime=False, tail_s=0.5
        )
        await simulate_call(options)
    finally:
        await server.stop(0)
    line = fake_twilio_api.wait_for("TWILIO_API_REQUEST")
    request = json.loads(line.split(" ", 1)[1])
    assert (
        request["path"]
        == f"/2010-04-01/Accounts/AC00000000000000000000000000000001/Calls/{options.call_sid}.json"
    )
    assert request["form"]["Twiml"].endswith("<Response><Dial>+15557654321</Dial></Response>")
    gateway.wait_for(f"TRANSFERRED call={options.call_sid} number=+15557654321")


async def test_a_call_past_the_agents_capacity_hears_an_apology(
    start_gateway: GatewayFactory, start_agent: AgentFactory
) -> None:
    agent = start_agent(AGENT_MAX_CALLS="1")
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}")
    first = asyncio.create_task(
        simulate_call(CallOptions(base_url=base(gateway), audio=tone(3.0), realtime=True, tail_s=0.5))
    )
    await asyncio.to_thread(agent.wait_for, "CALL_START")
    second = CallOptions(base_url=base(gateway), audio=tone(3.0), realtime=True, tail_s=0.5)
    report = await simulate_call(second)
    assert (report.close_code, report.close_reason) == (1000, "agent unavailable")
    assert "<Say>Sorry, we can't take your call right now." in report.action_body
    failed = gateway.wait_for(f"AI_CALL_FAILED call={second.call_sid}")
    assert "agent refused the call" in failed
    assert (await first).close_code == 1000


async def converse_a_little(call: ScriptedCall) -> None:
    await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
    await call.send(
        transcript=pb.Transcript(role=pb.ROLE_AGENT, text="Hello, how can I help?", is_final=True)
    )
    await call.wait_for(lambda r: r.WhichOneof("event") == "audio_in" and r.audio_in.seq >= 10)
    await call.send(transcript=pb.Transcript(role=pb.ROLE_USER, text="When are you open?", is_final=True))
    await call.send(transcript=pb.Transcript(role=pb.ROLE_AGENT, text="We're open", is_final=False))
    await call.send(
        transcript=pb.Transcript(role=pb.ROLE_AGENT, text="We're open nine to five.", is_final=True)
    )
    await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
    await call.finish()


async def test_a_call_and_its_final_transcript_are_stored_with_the_whatsapp_messages(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/agentlocator.db"
    server, port, _ = await start_scripted_agent(converse_a_little)
    try:
        gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{port}", DATABASE_URL=database)
        options = CallOptions(base_url=base(gateway), audio=tone(1.0), realtime=False, tail_s=0.5)
        await simulate_call(options)
        await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call={options.call_sid}")
    finally:
        await server.stop(0)
    log = await CallLog.open(database)
    try:
        record = await log.get(options.call_sid)
    finally:
        await log.close()
    assert record is not None
    assert record.caller == options.from_number and record.stream_sid == options.stream_sid
    assert record.ended_at is not None and record.outcome == "caller hung up"
    assert record.transcript == (
        ("agent", "Hello, how can I help?"),
        ("user", "When are you open?"),
        ("agent", "We're open nine to five."),  # interim text is not stored
    )


async def report_one_turn(call: ScriptedCall) -> None:
    await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
    turn = pb.Metrics(endpointing_ms=480, stt_ms=210, llm_first_token_ms=95, tts_first_audio_ms=120)
    turn.turn_latency_ms = 905
    await call.send(metrics=turn)
    await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
    await call.finish()


async def test_a_turns_typed_latency_metrics_are_stored_with_the_call(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/agentlocator.db"
    server, port, _ = await start_scripted_agent(report_one_turn)
    try:
        gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{port}", DATABASE_URL=database)
        options = CallOptions(base_url=base(gateway), audio=tone(1.0), realtime=False, tail_s=0.5)
        await simulate_call(options)
        await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call={options.call_sid}")
    finally:
        await server.stop(0)
    log = await CallLog.open(database)
    try:
        record = await log.get(options.call_sid)
    finally:
        await log.close()
    assert record is not None
    assert record.turns == ({"endpointing": 480, "stt": 210, "llm": 95, "tts": 120, "total": 905},)


async def whatsapp_the_address(call: ScriptedCall) -> None:
    await call.wait_for(lambda r: r.WhichOneof("event") == "session_start")
    await call.send(send_whatsapp=pb.SendWhatsApp(to="", text="We're at 12 Harbour Street, Leith."))
    await call.wait_for(lambda r: r.WhichOneof("event") == "hangup")
    await call.finish()


async def test_the_agent_can_whatsapp_the_caller_during_a_call(
    start_gateway: GatewayFactory, fake_twilio_api: ServerProcess
) -> None:
    server, port, _ = await start_scripted_agent(whatsapp_the_address)
    try:
        gateway = start_gateway(
            WS_MODE="AI",
            AGENT_ADDR=f"127.0.0.1:{port}",
            **twilio_api_env(fake_twilio_api),
            TWILIO_WHATSAPP_FROM="whatsapp:+15005550009",
            WHATSAPP_DEFAULT_PROVIDER="twilio",
        )
        options = CallOptions(
            base_url=base(gateway), audio=tone(1.0), auth_token="tok", realtime=False, tail_s=0.5
        )
        await simulate_call(options)
        await asyncio.to_thread(gateway.wait_for, f"CALL_WHATSAPP_SENT call={options.call_sid}")
    finally:
        await server.stop(0)
    line = fake_twilio_api.wait_for("Messages.json")
    request = json.loads(line.split(" ", 1)[1])
    assert request["form"]["To"] == f"whatsapp:{options.from_number}"  # empty `to` means the caller
    assert request["form"]["Body"] == "We're at 12 Harbour Street, Leith."
