"""The WhatsApp blueprint: the unified API, both webhooks, `/openapi.json`, and their start-up/shut-down."""

from __future__ import annotations

import logging

from quart import Blueprint, Response, current_app

from voice_gateway.agent_client import AgentClient
from voice_gateway.settings import Settings, WhatsAppProvider
from voice_gateway.storage import Store
from voice_gateway.whatsapp.api import ok, register_api
from voice_gateway.whatsapp.baileys import BaileysService
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import Message
from voice_gateway.whatsapp.openapi import openapi_document
from voice_gateway.whatsapp.service import WhatsAppServices
from voice_gateway.whatsapp.twilio_provider import TwilioWhatsApp
from voice_gateway.whatsapp.webhooks import TWILIO_PATH, register_webhooks

log = logging.getLogger("voice_gateway.whatsapp")

WHATSAPP_HUB = "agentlocator.whatsapp_hub"  # app.extensions key of the running WhatsAppHub


def build_services(settings: Settings) -> tuple[WhatsAppServices, BaileysService]:
    bridge = BaileysService(
        settings.baileys_bridge_url, settings.bridge_api_key, settings.baileys_bridge_timeout_s
    )
    # Twilio only calls back to a URL it can reach, so status callbacks need PUBLIC_BASE_URL.
    callback = settings.public_base_url + TWILIO_PATH if settings.public_base_url else None
    twilio = TwilioWhatsApp(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_whatsapp_from,
        settings.twilio_api_base_url,
        callback,
    )
    services = WhatsAppServices(
        {WhatsAppProvider.BAILEYS: bridge, WhatsAppProvider.TWILIO: twilio},
        settings.whatsapp_default_provider,
    )
    return services, bridge


def whatsapp_blueprint(settings: Settings) -> Blueprint:
    blueprint = Blueprint("whatsapp", __name__)
    running: dict[str, WhatsAppHub] = {}

    def hub() -> WhatsAppHub:
        return running["hub"]

    def start_reply(message: Message) -> None:
        # After the webhook's 2xx; the stored `pending` mark makes a restart pick it up again.
        if hub().auto_reply:
            current_app.add_background_task(hub().answer, message)

    @blueprint.before_app_serving
    async def open_whatsapp() -> None:
        store = await Store.open(settings.database_url)
        services, _ = build_services(settings)
        agent = AgentClient(settings.agent_addr) if settings.whatsapp_auto_reply else None
        running["hub"] = WhatsAppHub(store, services, agent, settings.whatsapp_auto_reply)
        # The voice side sends through the same hub when the agent asks to WhatsApp a caller.
        current_app.extensions[WHATSAPP_HUB] = running["hub"]
        log.info(
            "WHATSAPP_READY store=%s default=%s auto_reply=%s",
            store.backend,
            settings.whatsapp_default_provider.value,
            settings.whatsapp_auto_reply,
        )
        if hub().auto_reply:
            current_app.add_background_task(hub().resume_auto_replies)

    @blueprint.after_app_serving
    async def close_whatsapp() -> None:
        current = running.pop("hub", None)
        current_app.extensions.pop(WHATSAPP_HUB, None)
        if current is None:
            return
        for service in current.services.all():
            if isinstance(service, BaileysService):
                await service.close()
        if current.agent is not None:
            await current.agent.close()
        await current.store.close()

    @blueprint.get("/openapi.json")
    async def openapi() -> Response:
        return ok(openapi_document())

    register_api(blueprint, settings, hub)
    register_webhooks(blueprint, settings, hub, start_reply)
    return blueprint
