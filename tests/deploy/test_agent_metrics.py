"""The agent's Prometheus endpoint on AGENT_METRICS_LISTEN: active calls, calls by outcome, frames in/out."""

from __future__ import annotations

import asyncio
import re

import grpc
import httpx
import pytest

from agent_service import metrics
from agent_service.settings import AgentSettings, SettingsError
from tests.agent_service.client import (
    agent_stub,
    audio_in,
    frames,
    hangup,
    read_to_end,
    read_until,
    start_call,
)
from tests.conftest import AgentFactory
from tests.procs import ServerProcess


async def scrape(agent: ServerProcess) -> str:
    match = re.search(r"\bport=(\d+)", agent.wait_for("AGENT_METRICS_LISTENING"))
    assert match is not None
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"http://127.0.0.1:{match.group(1)}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.mark.integration
async def test_a_call_shows_as_active_then_as_a_hangup_with_its_frames_counted(
    start_agent: AgentFactory,
) -> None:
    agent = start_agent(AGENT_ECHO_UTTERANCE_MS="100")
    sent = frames(10)
    async with agent_stub(agent.port) as stub:
        call = await start_call(stub, "CA-metrics")
        for seq, frame in enumerate(sent, 1):
            await call.write(audio_in(frame, seq))
        await read_until(call, "audio_out")  # the echo of the first 100 ms utterance
        during = await scrape(agent)
        assert value(during, "agentlocator_agent_active_calls") == 1
        await call.write(hangup())
        await call.done_writing()
        replies = await read_to_end(call)
    await asyncio.to_thread(agent.wait_for, "CALL_END call=CA-metrics")
    after = await scrape(agent)
    assert value(after, "agentlocator_agent_active_calls") == 0
    assert value(after, 'agentlocator_agent_calls_total{outcome="hangup"}') == 1
    assert value(after, 'agentlocator_agent_frames_total{direction="in"}') == len(sent)
    echoed = 1 + sum(r.WhichOneof("event") == "audio_out" for r in replies)
    assert value(after, 'agentlocator_agent_frames_total{direction="out"}') == echoed


@pytest.mark.integration
async def test_a_call_refused_past_the_limit_is_counted_by_its_status_code(start_agent: AgentFactory) -> None:
    agent = start_agent(AGENT_MAX_CALLS="1")
    async with agent_stub(agent.port) as stub:
        first = await start_call(stub, "CA-first")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await start_call(stub, "CA-second")
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        text = await scrape(agent)
        assert value(text, 'agentlocator_agent_calls_rejected_total{code="RESOURCE_EXHAUSTED"}') == 1
        first.cancel()


@pytest.mark.integration
def test_a_taken_metrics_port_stops_start_up_with_one_line_naming_the_variable(
    start_agent: AgentFactory,
) -> None:
    first = start_agent()
    match = re.search(r"\bport=(\d+)", first.wait_for("AGENT_METRICS_LISTENING"))
    assert match is not None
    second = ServerProcess(
        first.argv,
        {"AGENT_LISTEN": "127.0.0.1:0", "AGENT_METRICS_LISTEN": f"127.0.0.1:{match.group(1)}"},
        "_",
    )
    with pytest.raises(RuntimeError, match="cannot serve metrics on AGENT_METRICS_LISTEN=127.0.0.1:"):
        second.start()
    assert second.wait_exit() == 1


def test_the_metrics_address_defaults_beside_the_grpc_address() -> None:
    assert AgentSettings.from_env({}).metrics_listen == "127.0.0.1:9464"
    assert AgentSettings.from_env({"AGENT_LISTEN": "0.0.0.0:50051"}).metrics_listen == "0.0.0.0:9464"
    # An agent on an ephemeral gRPC port (tests, several on one host) never collides on 9464.
    assert AgentSettings.from_env({"AGENT_LISTEN": "127.0.0.1:0"}).metrics_listen == "127.0.0.1:0"
    assert AgentSettings.from_env({"AGENT_METRICS_LISTEN": "[::1]:0"}).metrics_listen == "[::1]:0"
    with pytest.raises(SettingsError, match="AGENT_METRICS_LISTEN"):
        AgentSettings.from_env({"AGENT_METRICS_LISTEN": "9464"})


def test_free_text_end_reasons_become_a_small_set_of_outcomes() -> None:
    assert metrics.outcome_of("hangup (caller hung up)") == "hangup"
    assert metrics.outcome_of("client closed stream") == "client_closed"
    assert metrics.outcome_of("cancelled by client or server") == "cancelled"
    assert metrics.outcome_of("agent ended the call (goodbye)") == "agent_ended"
    assert metrics.outcome_of("server shutting down") == "shutdown"
    assert metrics.outcome_of("error (pipeline failed: ValueError)") == "error"
    assert metrics.outcome_of("something new") == "other"
