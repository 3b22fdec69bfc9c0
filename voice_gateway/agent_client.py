"""The gateway's gRPC channel to the agent service: keepalive, message limits, load balancing, health."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import grpc
from agentlocator.agent.v1 import agent_pb2, agent_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

AGENT_SERVICE = "agentlocator.agent.v1.AgentService"

# Several agent replicas behind one DNS name (compose `--scale agent=3`) share calls round-robin.
_SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


def channel_target(addr: str) -> str:
    return addr if "://" in addr or addr.startswith(("dns:", "unix:", "ipv4:", "ipv6:")) else f"dns:///{addr}"


class AgentClient:
    """The gateway's one channel to the agent: every call opens its own `Converse` stream on it, and the
    console's greeting preview and WhatsApp auto-replies make their unary calls on it too."""

    def __init__(
        self,
        addr: str,
        max_message_bytes: int = 4 * 1024 * 1024,
        health_timeout_s: float = 1.0,
        keepalive_s: float = 20.0,
    ) -> None:
        self.addr = addr
        self.health_timeout_s = health_timeout_s
        self._options = [
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.keepalive_time_ms", int(keepalive_s * 1000)),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            # Reconnect quickly after an agent restart rather than backing off for up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2_000),
        ]
        self._channel: grpc.aio.Channel | None = None
        # The newest knowledge version, sent with every call, chat and greeting preview (set by the
        # composition root once the database is open; None: the agent's own start-up knowledge).
        self.knowledge: Callable[[], Awaitable[agent_pb2.KnowledgeVersion | None]] | None = None

    async def knowledge_version(self) -> agent_pb2.KnowledgeVersion | None:
        return None if self.knowledge is None else await self.knowledge()

    @property
    def channel(self) -> grpc.aio.Channel:
        # Created lazily so that it binds to the event loop that serves requests.
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(channel_target(self.addr), options=self._options)
        return self._channel

    def stub(self) -> agent_pb2_grpc.AgentServiceStub:
        return agent_pb2_grpc.AgentServiceStub(self.channel)

    async def ready(self, timeout_s: float | None = None) -> tuple[bool, str]:
        """Ask the agent's standard health service; (True, "SERVING") when calls can be taken.

        Waits up to `timeout_s` (default: the health timeout) for the agent to be reachable at all."""
        stub = health_pb2_grpc.HealthStub(self.channel)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.health_timeout_s if timeout_s is None else timeout_s)
        pause_s = 0.05
        while True:
            try:
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service=AGENT_SERVICE),
                    timeout=max(deadline - loop.time(), 0.001),
                    wait_for_ready=True,
                )
                break
            except grpc.aio.AioRpcError as exc:
                # wait_for_ready covers connecting, not a connection that dies under the check: an agent
                # killed a moment ago fails the first check on its old connection ("Stream removed"),
                # while the restarted one is about to listen. Ask again until the deadline.
                if exc.code() is not grpc.StatusCode.UNAVAILABLE or loop.time() + pause_s >= deadline:
                    return False, f"{exc.code().name}: {exc.details() or 'no details'} ({self.addr})"
            await asyncio.sleep(pause_s)  # a backoff, bounded by the deadline
            pause_s = min(pause_s * 2, 1.0)
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        return reply.status == health_pb2.HealthCheckResponse.SERVING, status

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
