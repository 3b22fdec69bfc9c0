"""An agent replica added behind the gateway's DNS name gets calls while every other replica stays up.

gRPC looks a name up again only when a connection closes; the agent closes each connection gracefully
after AGENT_MAX_CONNECTION_AGE_S (a GOAWAY: streams in flight, i.e. calls, finish on it), so the
gateway's channel re-resolves and finds replicas added since (`kubectl scale deployment/agent`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from agent_service.server import server_options
from agent_service.settings import AgentSettings, SettingsError
from voice_gateway.agent_client import AGENT_SERVICE, AgentClient, channel_target


class Names(BaseResolver):  # type: ignore[misc]  # dnslib ships no types
    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = records

    def resolve(self, request: object, handler: object) -> object:
        reply = request.reply()  # type: ignore[attr-defined]
        question = request.q  # type: ignore[attr-defined]
        if QTYPE[question.qtype] == "A":
            for address in self.records.get(str(question.qname).rstrip("."), []):
                reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=1))
        return reply


@pytest.fixture
def dns() -> Iterator[tuple[int, dict[str, list[str]]]]:
    records: dict[str, list[str]] = {}
    server = DNSServer(Names(records), port=0, address="127.0.0.1", logger=DNSLogger("-request,-reply"))
    server.start_thread()
    yield int(server.server.server_address[1]), records
    server.stop()
    server.server.server_close()


class CountingHealth(health.aio.HealthServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def Check(self, request: object, context: object) -> object:  # noqa: N802  # gRPC's name
        self.checks += 1
        return await super().Check(request, context)


async def replica(
    address: str, port: int, settings: AgentSettings
) -> tuple[grpc.aio.Server, CountingHealth, int]:
    server = grpc.aio.server(options=server_options(settings))
    servicer = CountingHealth()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"{address}:{port}")
    await server.start()
    for name in ("", AGENT_SERVICE):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, servicer, bound


def test_the_setting_reads_seconds_and_zero_turns_it_off() -> None:
    assert AgentSettings().max_connection_age_s == 120.0
    assert AgentSettings.from_env({"AGENT_MAX_CONNECTION_AGE_S": "0"}).max_connection_age_s == 0.0
    assert ("grpc.max_connection_age_ms", 120_000) in server_options(AgentSettings())
    assert not any(
        name == "grpc.max_connection_age_ms"
        for name, _ in server_options(AgentSettings.from_env({"AGENT_MAX_CONNECTION_AGE_S": "0"}))
    )
    with pytest.raises(SettingsError, match="AGENT_MAX_CONNECTION_AGE_S"):
        AgentSettings.from_env({"AGENT_MAX_CONNECTION_AGE_S": "-1"})


async def test_a_replica_added_behind_the_name_is_found_without_any_replica_going_down(
    dns: tuple[int, dict[str, list[str]]],
) -> None:
    dns_port, records = dns
    settings = AgentSettings.from_env({"AGENT_MAX_CONNECTION_AGE_S": "0.5"})
    first, first_health, port = await replica("127.0.0.1", 0, settings)
    records["agent"] = ["127.0.0.1"]
    client = AgentClient(f"dns://127.0.0.1:{dns_port}/agent:{port}")
    # The gateway's channel, with gRPC's 30 s pause between two lookups of one name cut for the test.
    client._options.append(("grpc.dns_min_time_between_resolutions_ms", 200))
    assert channel_target(client.addr) == client.addr
    second = None
    try:
        assert (await client.ready(timeout_s=10))[0]
        # A stream open across the GOAWAY, as a call is: it must run on to its end.
        watch = health_pb2_grpc.HealthStub(client.channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        second, second_health, _ = await replica("127.0.0.2", port, settings)
        records["agent"] = ["127.0.0.1", "127.0.0.2"]  # `kubectl scale`: the headless Service's new answer
        while second_health.checks == 0:  # pytest-timeout bounds it; each round is one health check
            ok, detail = await client.ready(timeout_s=10)
            assert ok, detail
            await asyncio.sleep(0.05)
        assert first_health.checks > 0
        # The first replica's connection has been told to go away by now (that is how the name was looked
        # up again), yet the stream opened on it still carries what the replica says.
        await first_health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
    finally:
        await client.close()
        await first.stop(None)
        if second is not None:
            await second.stop(None)
