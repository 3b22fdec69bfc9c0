"""`/console`: the operator's web page — pairing, live calls, history, messages, conversations, knowledge."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, redirect, render_template, request

from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.console.auth import COOKIE_PATH, SESSION_COOKIE, ConsoleAuth, csrf_ok
from voice_gateway.console.bookings import register_bookings
from voice_gateway.console.calls import register_calls
from voice_gateway.console.data import ConsoleData
from voice_gateway.console.greeting import GreetingUnavailable, greeting_audio
from voice_gateway.console.knowledge import register_knowledge
from voice_gateway.console.live import live_events, qr_fingerprint
from voice_gateway.console.login import OFF, register_login
from voice_gateway.console.messages import register_messages
from voice_gateway.console.responses import AnyResponse, as_json, private, text
from voice_gateway.console.sidecar import SessionAction, SidecarRefused, SidecarUnavailable, session_action
from voice_gateway.console.talk import register_talk
from voice_gateway.settings import Settings
from voice_gateway.whatsapp.baileys import BaileysService
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.service import ProviderError
from voice_gateway.whatsapp.validation import Invalid, parse_contact, parse_send

log = logging.getLogger("voice_gateway.console")


Page = Callable[..., Awaitable[AnyResponse]]


def console_blueprint(
    settings: Settings,
    agent: AgentClient,
    hub: Callable[[], WhatsAppHub],
    data: Callable[[], ConsoleData],
    ai: AiMode | None,
    auth: ConsoleAuth | None = None,
) -> Blueprint:
    """`hub` and `data` give the running parts, or raise `GatewayStopped` outside serving."""
    blueprint = Blueprint(
        "console",
        __name__,
        url_prefix="/console",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    # The app shares one with the browser-call socket (console/talk.py), which checks the same sessions.
    auth = auth or ConsoleAuth(tuple(s for s in (settings.api_token, settings.console_password) if s))

    def signed_in(page: Page) -> Page:
        @functools.wraps(page)
        async def checked(*args: Any, **kwargs: Any) -> AnyResponse:
            if not auth.enabled:
                return text(OFF, 503)
            session = await auth.session(request.cookies.get(SESSION_COOKIE))
            if session is None:
                # A person navigating gets the login page; scripts (fetch, EventSource) get a plain 401.
                if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
                    return redirect("/console/login", 303)
                return text("sign in first", 401)
            if request.method == "POST":
                form = await request.form
                if not csrf_ok(session, form.get("csrf_token", "")):
                    log.warning("CONSOLE_CSRF_REJECTED path=%s", request.path)
                    return text("missing or wrong CSRF token: reload the page and try again", 403)
            return private(await page(session.csrf_token, *args, **kwargs))

        return checked

    register_login(blueprint, settings, auth)
    register_messages(blueprint, signed_in, data, notifying=settings.owner_whatsapp is not None)
    register_bookings(blueprint, signed_in, agent)
    register_talk(blueprint, signed_in, settings, ai)
    register_calls(blueprint, signed_in, agent, data)
    register_knowledge(blueprint, signed_in, data, Path(settings.knowledge_file))

    @blueprint.post("/logout")
    @signed_in
    async def logout(_csrf: str) -> AnyResponse:
        await auth.sign_out(request.cookies.get(SESSION_COOKIE))
        response = redirect("/console/login", 303)
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return response

    @blueprint.get("")
    @signed_in
    async def overview(csrf: str) -> AnyResponse:
        return Response(await render_template("overview.html", csrf=csrf, page="overview"))

    @blueprint.get("/pairing.json")
    @signed_in
    async def pairing(_csrf: str) -> AnyResponse:
        running = hub()
        providers = {s.provider.value: await s.describe() for s in running.services.all()}
        baileys = providers.get("baileys", {})
        qr_id = await qr_fingerprint(running) if baileys.get("qr_available") else None
        default = running.services.default.value
        return as_json({"default_provider": default, "providers": providers, "qr_id": qr_id})

    @blueprint.get("/whatsapp/qr.png")
    @signed_in
    async def qr_image(_csrf: str) -> AnyResponse:
        bridge = hub().services.get_whatsapp_service("baileys")
        assert isinstance(bridge, BaileysService)
        try:
            upstream = await bridge.qr(as_json=False)
        except ProviderError as exc:
            return text(exc.message, exc.http_status)
        if upstream.status_code != 200:
            return text("no QR code right now", 404)
        return Response(upstream.content, content_type=upstream.headers.get("content-type", "image/png"))

    @blueprint.post("/whatsapp/session/<action>")
    @signed_in
    async def pairing_action(_csrf: str, action: str) -> AnyResponse:
        try:
            chosen = SessionAction(action)
        except ValueError:
            return text("unknown action: expected start, restart or logout", 404)
        try:
            said = await session_action(
                settings.baileys_bridge_url,
                settings.bridge_api_key,
                chosen,
                settings.baileys_bridge_timeout_s,
            )
        except SidecarUnavailable as exc:
            return text(str(exc), 502)
        except SidecarRefused as exc:
            return text(str(exc), exc.status)
        log.info("CONSOLE_PAIRING action=%s", chosen.value)
        return text(said, 200)

    @blueprint.get("/calls/live")
    @signed_in
    async def live_calls(_csrf: str) -> AnyResponse:
        response = Response(live_events(ai), content_type="text/event-stream")
        response.headers["X-Accel-Buffering"] = "no"
        response.timeout = None
        return response

    @blueprint.post("/calls/<call_sid>/hangup")
    @signed_in
    async def hang_up(_csrf: str, call_sid: str) -> AnyResponse:
        if ai is None or not await ai.registry.hang_up(call_sid):
            return text(f"no call {call_sid} is in progress on this gateway", 404)
        log.info("CONSOLE_HANGUP call=%r", call_sid)
        return text(f"call {call_sid} hung up", 200)

    @blueprint.get("/whatsapp")
    @signed_in
    async def whatsapp(csrf: str) -> AnyResponse:
        return await _conversations(csrf, request.args.get("contact"), "", 200)

    @blueprint.post("/whatsapp/send")
    @signed_in
    async def whatsapp_send(csrf: str) -> AnyResponse:
        form = await request.form
        body = {"to": form.get("to", "").strip(), "text": form.get("text", "")}
        if form.get("provider"):
            body["provider"] = form["provider"]
        try:
            parsed = parse_send(body)
        except Invalid as exc:
            problems = "; ".join(f"{k}: {v}" for k, v in exc.problems.items())
            return await _conversations(csrf, body["to"] or None, f"Not sent — {problems}", 422)
        outcome = await hub().send(parsed.message, parsed.provider, parsed.fallback)
        if outcome.error is not None:
            return await _conversations(
                csrf, parsed.message.to, f"Not sent — {outcome.error.message}", outcome.error.http_status
            )
        log.info("CONSOLE_WHATSAPP_SENT id=%s", outcome.message.id)
        return redirect("/console/whatsapp?" + urlencode({"contact": parsed.message.to}), 303)

    @blueprint.get("/knowledge/greeting.wav")
    @signed_in
    async def greeting_wav(_csrf: str) -> AnyResponse:
        try:
            spoken = await greeting_audio(agent)
        except GreetingUnavailable as exc:
            return text(exc.message, exc.http_status)
        log.info("CONSOLE_GREETING_PREVIEW tts=%s synthesis_ms=%d", spoken.tts, spoken.synthesis_ms)
        response = Response(spoken.wav, content_type="audio/wav")
        response.headers["X-Synthesis-Ms"] = str(spoken.synthesis_ms)
        return response

    async def _conversations(csrf: str, contact: str | None, notice: str, status: int) -> AnyResponse:
        chosen = None
        if contact:
            try:
                chosen = parse_contact(contact)
            except Invalid:
                notice = notice or "That is not a phone number in +E.164 form."
        messages = await hub().store.list_for_contact(chosen) if chosen else []
        html = await render_template(
            "whatsapp.html",
            csrf=csrf,
            page="whatsapp",
            contacts=await data().contacts(),
            contact=chosen,
            messages=messages,
            notice=notice,
            providers=[s.provider.value for s in hub().services.all()],
            default_provider=hub().services.default.value,
        )
        return Response(html, status=status)

    return blueprint
