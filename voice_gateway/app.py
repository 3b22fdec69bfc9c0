"""The gateway's Quart application: Twilio's webhooks, health, metrics and the Media Streams socket."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Quart, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from voice_gateway import metrics
from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.calls.endpoint import MEDIA_STREAMS, register_media_stream
from voice_gateway.console import AI_MODE, console_blueprint
from voice_gateway.limits.http_guard import CALLS_BUSY, install_abuse_guard
from voice_gateway.payments import payments_blueprint
from voice_gateway.settings import Settings, WsMode
from voice_gateway.twilio import twiml
from voice_gateway.twilio.public_url import public_base_url
from voice_gateway.twilio.signatures import TwilioSignatures, call_token
from voice_gateway.whatsapp.routes import WHATSAPP_HUB, whatsapp_blueprint

log = logging.getLogger("voice_gateway")

# A readiness check answers (ready, detail); the AI mode adds one for the agent service.
ReadinessCheck = Callable[[], Awaitable[tuple[bool, str]]]


def create_app(settings: Settings, readiness: dict[str, ReadinessCheck] | None = None) -> Quart:
    app = Quart("voice_gateway")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    signatures = TwilioSignatures(settings.twilio_auth_token) if settings.twilio_auth_token else None
    checks = dict(readiness or {})
    ai = AiMode(settings, lambda: app.extensions.get(WHATSAPP_HUB)) if settings.ws_mode is WsMode.AI else None
    guard = install_abuse_guard(app, settings)
    if ai is not None:
        checks["agent"] = ai.ready
        app.extensions[AI_MODE] = ai  # the console reads live calls from its registry

        @app.before_serving
        async def open_call_log() -> None:
            await ai.open()

        @app.after_serving
        async def close_agent_link() -> None:
            await ai.close()

    def base_url() -> str:
        return public_base_url(settings.public_base_url, request.headers, request.scheme)

    async def refuse_unsigned(route: str) -> Response | None:
        if signatures is None:
            return None
        url = base_url() + request.path
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        params = await request.form if request.method == "POST" else {}
        problem = signatures.problem(url, params, request.headers)
        if problem is None:
            return None
        metrics.SIGNATURE_FAILURES.labels("http").inc()
        metrics.WEBHOOKS.labels(route, "403").inc()
        log.warning("SIGNATURE_REJECTED route=%s reason=%s", route, problem)
        return Response(problem + "\n", status=403, content_type="text/plain")

    @app.route("/incoming_call", methods=["GET", "POST"])
    async def incoming_call() -> Response:
        if (refused := await refuse_unsigned("incoming_call")) is not None:
            return refused
        values = await request.form if request.method == "POST" else request.args
        call_sid = values.get("CallSid", "")
        if guard.lines_busy(media_streams.open_streams):
            # A polite busy message beats a stream the process cannot serve well.
            CALLS_BUSY.inc()
            metrics.WEBHOOKS.labels("incoming_call", "200").inc()
            log.warning("CALL_REJECTED_BUSY call=%s open_streams=%d", call_sid, media_streams.open_streams)
            return _xml(twiml.say_and_hang_up(settings.busy_text))
        parameters = {
            "From": values.get("From", ""),
            "To": values.get("To", ""),
            "CallSid": call_sid,
            "StreamToken": call_token(settings.call_token_secret, call_sid),
        }
        if ai is not None:
            ready, detail = await ai.ready()
            if not ready:
                # A short apology beats a stream that fails after the caller hears nothing.
                metrics.AGENT_UNAVAILABLE.inc()
                metrics.WEBHOOKS.labels("incoming_call", "200").inc()
                log.error("AGENT_UNAVAILABLE call=%s detail=%s", call_sid, detail)
                return _xml(twiml.say_and_hang_up(settings.apology_text))
        document = twiml.connect_stream(base_url(), parameters, settings.greeting_text)
        log.info("INCOMING_CALL call=%s from=%s to=%s", call_sid, parameters["From"], parameters["To"])
        metrics.WEBHOOKS.labels("incoming_call", "200").inc()
        return _xml(document)

    @app.post(twiml.STREAM_STATUS_PATH)
    async def stream_status() -> Response:
        if (refused := await refuse_unsigned("stream_status")) is not None:
            return refused
        form = await request.form
        log.info(
            "STREAM_STATUS call=%s stream=%s event=%s error=%s",
            form.get("CallSid", "-"),
            form.get("StreamSid", "-"),
            form.get("StreamEvent", "-"),
            form.get("StreamError") or "-",
        )
        metrics.WEBHOOKS.labels("stream_status", "204").inc()
        return Response("", status=204)

    @app.post(twiml.STREAM_ENDED_PATH)
    async def stream_ended() -> Response:
        # Twilio fetches TwiML here when <Connect> ends: an empty or non-XML answer is error 12100.
        if (refused := await refuse_unsigned("stream_ended")) is not None:
            return refused
        form = await request.form
        call_sid = form.get("CallSid", "")
        log.info("STREAM_ENDED call=%s status=%s", call_sid or "-", form.get("CallStatus", "-"))
        metrics.WEBHOOKS.labels("stream_ended", "200").inc()
        failure = ai.registry.take_failure(call_sid) if ai is not None and call_sid else None
        if failure is not None:
            log.info("APOLOGY call=%s reason=%s", call_sid, failure)
            return _xml(twiml.say_and_hang_up(settings.apology_text))
        return _xml(twiml.stream_ended(settings.hangup_on_stream_end))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> tuple[dict[str, object], int]:
        results = {name: await check() for name, check in checks.items()}
        ready = all(ok for ok, _ in results.values())
        body: dict[str, object] = {
            "ready": ready,
            "mode": settings.ws_mode.value,
            "dependencies": {name: {"ready": ok, "detail": detail} for name, (ok, detail) in results.items()},
        }
        return body, 200 if ready else 503

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @app.errorhandler(RequestEntityTooLarge)
    async def too_large(_: RequestEntityTooLarge) -> Response:
        metrics.WEBHOOKS.labels(request.path, "413").inc()
        log.warning("BODY_TOO_LARGE path=%s limit=%d", request.path, settings.max_body_bytes)
        return Response(f"request body over {settings.max_body_bytes} bytes\n", status=413)

    media_streams = register_media_stream(app, settings, ai.bridge if ai is not None else None, guard)
    app.extensions[MEDIA_STREAMS] = media_streams  # `python -m voice_gateway` serves it on the fast path
    app.register_blueprint(whatsapp_blueprint(settings))
    app.register_blueprint(payments_blueprint(settings))
    app.register_blueprint(console_blueprint(settings))
    return app


def _xml(document: str) -> Response:
    response = Response(document, status=200, content_type="text/xml; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


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
