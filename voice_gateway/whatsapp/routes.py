"""The WhatsApp blueprint: the unified API, both webhooks and `/openapi.json`, on the gateway's one hub."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from quart import Blueprint, Response, current_app

from voice_gateway.api_responses import ok
from voice_gateway.settings import Settings
from voice_gateway.whatsapp.api import register_api
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import Message
from voice_gateway.whatsapp.openapi import openapi_document
from voice_gateway.whatsapp.unconfirmed import sweep_forever
from voice_gateway.whatsapp.webhooks import register_webhooks


def whatsapp_blueprint(settings: Settings, hub: Callable[[], WhatsAppHub]) -> Blueprint:
    """`hub` gives the running hub, or raises `GatewayStopped` outside start-up and shutdown."""
    blueprint = Blueprint("whatsapp", __name__)

    def start_reply(message: Message) -> None:
        # After the webhook's 2xx; the stored `pending` mark makes a restart pick it up again.
        if hub().auto_reply:
            current_app.add_background_task(hub().answer, message)

    @blueprint.before_app_serving
    async def resume_auto_replies() -> None:
        if hub().auto_reply:
            current_app.add_background_task(hub().resume_auto_replies)

    sweeper: list[asyncio.Task[None]] = []

    @blueprint.before_app_serving
    async def start_settling_unconfirmed_sends() -> None:
        # A send is looked at only once it cannot still be waiting for its provider in some gateway.
        grace_s = 2 * settings.baileys_bridge_timeout_s
        deadline_s = settings.whatsapp_unconfirmed_send_timeout_s
        sweeper.append(asyncio.create_task(sweep_forever(hub, grace_s, deadline_s)))

    @blueprint.after_app_serving
    async def stop_settling_unconfirmed_sends() -> None:
        while sweeper:
            task = sweeper.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @blueprint.get("/openapi.json")
    async def openapi() -> Response:
        return ok(openapi_document())

    register_api(blueprint, settings, hub)
    register_webhooks(blueprint, settings, hub, start_reply)
    return blueprint
