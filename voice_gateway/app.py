"""The gateway's Quart application: Twilio's webhooks, WhatsApp, the console, health, metrics, and the
Media Streams socket, all wired to the parts `GatewayServices` built once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Quart, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from voice_gateway import metrics
from voice_gateway.calendar.feed import calendar_feed_blueprint
from voice_gateway.calls.endpoint import MediaStreamEndpoint
from voice_gateway.calls.live_feed import live_feed_blueprint
from voice_gateway.console import console_blueprint
from voice_gateway.console.auth import ConsoleAuth
from voice_gateway.console.talk import TALK_PATH, BrowserCalls
from voice_gateway.messages.routes import messages_blueprint
from voice_gateway.payments import payments_blueprint
from voice_gateway.server.asgi_websocket import Receive, Scope, Send
from voice_gateway.services import GatewayServices
from voice_gateway.settings import Settings, WsMode
from voice_gateway.twilio.twiml import STREAM_PATH
from voice_gateway.twilio.webhooks import voice_webhooks_blueprint
from voice_gateway.whatsapp.routes import whatsapp_blueprint

log = logging.getLogger("voice_gateway")

# A readiness check answers (ready, detail); the AI mode adds one for the agent service.
ReadinessCheck = Callable[[], Awaitable[tuple[bool, str]]]


class GatewayApp(Quart):
    """Quart, with the Media Streams socket served ahead of it as plain ASGI.

    Quart's WebSocket wrapper adds a queue hop and a task switch to every frame; at 50 frames a second
    per call that is most of what a call costs, so the endpoint takes the raw ASGI messages instead."""

    def __init__(
        self, services: GatewayServices, media_streams: MediaStreamEndpoint, browser_calls: BrowserCalls
    ) -> None:
        super().__init__("voice_gateway")
        self.services = services
        self.media_streams = media_streams
        self.browser_calls = browser_calls

    async def asgi_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == STREAM_PATH:
            await self.media_streams(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] == TALK_PATH:
            await self.browser_calls(scope, receive, send)
        else:
            await super().asgi_app(scope, receive, send)


def create_app(
    settings: Settings,
    readiness: dict[str, ReadinessCheck] | None = None,
    services: GatewayServices | None = None,
) -> GatewayApp:
    services = services or GatewayServices(settings)
    ai = services.ai
    media_streams = MediaStreamEndpoint(
        settings, ai.bridge if ai is not None else None, services.guard, services.call_cap
    )
    accepted = tuple(s for s in (settings.api_token, settings.console_password) if s)
    console_auth = ConsoleAuth(accepted, *services.console_sessions)
    app = GatewayApp(services, media_streams, BrowserCalls(settings, console_auth, media_streams))
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    checks = dict(readiness or {})
    if ai is not None:
        checks["agent"] = ai.ready
    # First among the start-up hooks: the blueprints' own hooks use what it opens.
    app.before_serving(services.start)
    app.after_serving(services.stop)
    app.before_request(services.guard.before_request)
    app.after_request(services.guard.after_request)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> tuple[dict[str, object], int]:
        # ?exclude=agent (Kubernetes' own convention): a load balancer's probe must not take every gateway
        # out when the agents are down, since a gateway still answers those calls with the apology.
        excluded = set(request.args.getlist("exclude"))
        results = {name: await check() for name, check in checks.items() if name not in excluded}
        draining = services.call_cap.draining  # SIGTERM: traffic goes to other gateways (server/drain.py)
        ready = all(ok for ok, _ in results.values()) and not draining
        body: dict[str, object] = {
            "ready": ready,
            "mode": settings.ws_mode.value,
            "dependencies": {name: {"ready": ok, "detail": detail} for name, (ok, detail) in results.items()},
        }
        if draining:
            body["draining"] = True
        return body, 200 if ready else 503

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @app.errorhandler(RequestEntityTooLarge)
    async def too_large(_: RequestEntityTooLarge) -> Response:
        route = metrics.route_label(request.endpoint)
        metrics.WEBHOOKS.labels(route, "413").inc()
        log.warning(
            "BODY_TOO_LARGE route=%s path=%.200s limit=%d", route, request.path, settings.max_body_bytes
        )
        # The body was never read, so the connection cannot carry another request: say so, or a client
        # that reuses it races Hypercorn's close and sees a dropped connection instead of this answer.
        return Response(
            f"request body over {settings.max_body_bytes} bytes\n",
            status=413,
            headers={"Connection": "close"},
        )

    app.register_blueprint(voice_webhooks_blueprint(settings, services.call_cap, ai))
    app.register_blueprint(live_feed_blueprint(settings, ai))
    app.register_blueprint(whatsapp_blueprint(settings, services.whatsapp_hub))
    app.register_blueprint(payments_blueprint(settings))
    app.register_blueprint(messages_blueprint(settings, services.owner_messages))
    app.register_blueprint(calendar_feed_blueprint(settings, services.agent))
    app.register_blueprint(
        console_blueprint(
            settings, services.agent, services.whatsapp_hub, services.console_data, ai, console_auth
        )
    )
    return app


def startup_warnings(settings: Settings) -> list[str]:
    warnings = []
    if not settings.auth_enabled:
        warnings.append(
            "TWILIO_AUTH_TOKEN is not set: webhooks and media streams are NOT authenticated; "
            "anyone who finds this URL can drive it. Set it before pointing a real number here."
        )
    if settings.ws_mode is WsMode.AI and not settings.twilio_account_sid:
        warnings.append("TWILIO_ACCOUNT_SID is not set: the agent cannot transfer calls.")
    if settings.call_token_secret_is_ephemeral:
        warnings.append("CALL_TOKEN_SECRET is random for this process: several gateways must share one.")
    return warnings
