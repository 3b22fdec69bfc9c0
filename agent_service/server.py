"""Build, start and gracefully stop the agent's gRPC server (AgentService + health + reflection).

`serve` is where the process's parts come to life: it calls the composition root once, then serves them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import grpc
from agentlocator.agent.v1 import agent_pb2, agent_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from agent_service import metrics
from agent_service.composition import Agent, build_agent
from agent_service.pipelines.base import PipelineSpec
from agent_service.servicer import AgentServicer
from agent_service.settings import AgentSettings

log = logging.getLogger(__name__)

SERVICE_NAME: str = agent_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name


def server_options(settings: AgentSettings) -> list[tuple[str, int]]:
    options = [
        # Detect a dead gateway (half-open TCP after a VM freeze or NAT timeout) while a call is idle.
        ("grpc.keepalive_time_ms", round(settings.keepalive_time_s * 1000)),
        ("grpc.keepalive_timeout_ms", round(settings.keepalive_timeout_s * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        # Accept the gateway's own keepalive pings down to this interval instead of answering GOAWAY.
        ("grpc.http2.min_ping_interval_without_data_ms", round(settings.keepalive_min_client_ping_s * 1000)),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
    ]
    if settings.max_connection_age_s > 0:
        # gRPC clients resolve a name again only when a connection closes: without this, replicas added
        # behind the name (a scaled Deployment) get no call while the others stay up. No grace limit is
        # set, so a call's stream runs to its end on the old connection.
        options.append(("grpc.max_connection_age_ms", round(settings.max_connection_age_s * 1000)))
    return options


@dataclass(frozen=True, slots=True)
class RunningServer:
    server: Any  # grpc.aio.Server; grpc ships no type stubs
    servicer: AgentServicer
    health: Any  # grpc_health.v1.health.aio.HealthServicer
    port: int


async def start_server(agent: Agent) -> RunningServer:
    """Bind AGENT_LISTEN (raises RuntimeError if it cannot), start serving, and mark health SERVING."""
    settings = agent.settings
    server = grpc.aio.server(options=server_options(settings))
    servicer = AgentServicer(agent)
    metrics.track_active_calls(lambda: servicer.active_calls)
    agent_pb2_grpc.add_AgentServiceServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port: int = server.add_insecure_port(settings.listen)
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server=server, servicer=servicer, health=health_servicer, port=port)


async def shutdown(running: RunningServer, grace_s: float) -> None:
    """Drain: health NOT_SERVING, EndCall to every live call, then stop, all within `grace_s`."""
    deadline = time.monotonic() + grace_s
    # Load balancers and the gateway's health checks stop routing new calls here first.
    await running.health.enter_graceful_shutdown()
    await running.servicer.drain(grace_s)
    await running.server.stop(max(0.0, deadline - time.monotonic()))
    log.info("AGENT_STOPPED calls_left=%d", running.servicer.active_calls)


async def warm_up(spec: PipelineSpec) -> None:
    """Load the pipeline's models in a worker thread; a failure is logged and left to the first call."""
    if spec.warm_up is None:
        return
    started = time.monotonic()
    try:
        await asyncio.to_thread(spec.warm_up)
    except Exception as e:  # the first call tries again and reports the error to its caller
        log.error("PIPELINE_WARM_FAILED pipeline=%s error=%r", spec.name, e)
        return
    log.info("PIPELINE_WARM pipeline=%s ms=%d", spec.name, round((time.monotonic() - started) * 1000))


async def serve(settings: AgentSettings, stop: asyncio.Event) -> None:
    """Run until `stop` is set, then shut down gracefully."""
    # Bound first: a taken metrics port stops start-up (OSError) before any call can be admitted.
    metrics_server = metrics.start_metrics_server(settings.metrics_listen)
    print(f"AGENT_METRICS_LISTENING port={metrics_server.port}", flush=True)
    agent = build_agent(settings)
    running = await start_server(agent)
    host = settings.listen_host
    # Exactly one line, printed whatever LOG_LEVEL says: scripts and tests wait for it to learn the port.
    print(f"AGENT_LISTENING addr={host}:{running.port} port={running.port}", flush=True)
    log.info("pipeline=%s max_calls=%d", settings.pipeline, settings.max_calls)
    warming = asyncio.create_task(warm_up(agent.pipeline)) if settings.warm_up else None
    await stop.wait()
    if warming is not None:
        warming.cancel()  # the thread finishes on its own; nobody waits for it any more
    log.info("AGENT_SHUTDOWN calls=%d grace_s=%s", running.servicer.active_calls, settings.shutdown_grace_s)
    await shutdown(running, settings.shutdown_grace_s)
    metrics_server.close()
