"""`python -m voice_gateway`: the gateway under Hypercorn, configured from the environment.

Every connection is accepted by our own listener (`server/`: connection caps, request-head and
keep-alive timeouts). With WS_SERVER=websockets (the default) it serves the Media Streams WebSocket on
`websockets`' sans-IO protocol; with WS_SERVER=hypercorn that goes to Hypercorn like every HTTP route.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys

from hypercorn.config import Config

from agentlocator_common import logs
from voice_gateway import metrics
from voice_gateway.app import create_app, startup_warnings
from voice_gateway.server import hypercorn_handoff as serving
from voice_gateway.server.admission import Admission, ListenerLimits, raise_fd_limit
from voice_gateway.server.drain import drain
from voice_gateway.settings import Settings, SettingsError, WsServer
from voice_gateway.storage import migrate
from voice_gateway.twilio.twiml import STREAM_PATH

log = logging.getLogger("voice_gateway")


def hypercorn_config(settings: Settings, sock: socket.socket) -> Config:
    config = Config()
    # Binding ourselves lets PORT=0 work and lets us log the real port before serving.
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5.0
    # Our own 64 KiB frame limit counts oversized frames as bad and keeps the call; Hypercorn's limit
    # (which closes the socket with 1009) only stops absurd frames.
    config.websocket_max_message_size = max(1 << 20, settings.max_ws_frame_bytes * 4)
    config.keep_alive_timeout = settings.keep_alive_timeout_s
    return config


def listener_limits(settings: Settings) -> ListenerLimits:
    return ListenerLimits(
        header_timeout_s=settings.header_timeout_s,
        keep_alive_timeout_s=settings.keep_alive_timeout_s,
        max_connections=settings.max_connections,
        max_connections_per_client=settings.max_connections_per_client,
    )


async def _serve(settings: Settings) -> None:
    # Every part of the gateway keeps its records there: say plainly why it cannot start (unreachable,
    # or a schema this code cannot migrate), not a traceback.
    line, ok = await migrate.migrate_database(settings.database_url)
    if not ok:
        print(f"voice_gateway: {line}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    log.info("DATABASE_READY %s", line)
    # Before any socket opens: the soft limit (often 1024) is what runs out under a connection flood.
    fd_limit = raise_fd_limit()
    limits = listener_limits(settings)
    admission = Admission(limits, fd_limit)
    metrics.CONNECTIONS_OPEN.set_function(lambda: admission.open)
    log.info(
        "LISTENER_LIMITS fd_limit=%d fd_budget=%d max_connections=%d per_client=%d header_timeout_s=%g "
        "keep_alive_timeout_s=%g",
        fd_limit,
        admission.fd_budget,
        limits.max_connections,
        limits.max_connections_per_client,
        limits.header_timeout_s,
        limits.keep_alive_timeout_s,
    )
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET6 if ":" in settings.bind_host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.bind_host, settings.port))
    sock.listen(1024)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    for warning in startup_warnings(settings):
        log.warning("%s", warning)
    # Before the line below: whoever reads it may send SIGTERM at once, and must get a graceful stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Printed whatever LOG_LEVEL says: supervisors and tests wait for this line to learn the port.
    print(
        f"GATEWAY_LISTENING host={settings.bind_host} port={port} mode={settings.ws_mode.value} "
        f"ws_server={settings.ws_server.value}",
        flush=True,
    )
    config = hypercorn_config(settings, sock)
    # WS_SERVER=hypercorn hands the Media Streams path to Hypercorn too; the listener's limits still apply.
    media_path = STREAM_PATH if settings.ws_server is WsServer.WEBSOCKETS else None
    connections = serving.Connections(admission)

    async def until_drained() -> None:
        await stop.wait()
        cluster = settings.cluster
        await drain(app.media_streams, app.services.ai, cluster.drain_timeout_s, cluster.drain_goodbye_text)

    await serving.serve(app, media_path, app.media_streams, config, sock, until_drained, limits, connections)
    log.info("GATEWAY_STOPPED")


def main() -> None:
    if sys.argv[1:] == ["migrate"]:  # a deployment's one-off job: migrate DATABASE_URL, then exit
        raise SystemExit(migrate.main())
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"voice_gateway: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level, settings.log_format)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        asyncio.run(_serve(settings))
    else:
        uvloop.run(_serve(settings))


if __name__ == "__main__":
    main()
