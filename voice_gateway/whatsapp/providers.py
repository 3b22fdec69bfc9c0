"""The WhatsApp providers the settings describe: the Baileys sidecar and Twilio, behind one interface."""

from __future__ import annotations

from voice_gateway.settings import Settings, WhatsAppProvider
from voice_gateway.whatsapp.baileys import BaileysService
from voice_gateway.whatsapp.service import WhatsAppServices
from voice_gateway.whatsapp.twilio_provider import TwilioWhatsApp
from voice_gateway.whatsapp.webhooks import TWILIO_PATH


def build_providers(settings: Settings) -> tuple[WhatsAppServices, BaileysService]:
    """Both providers, and the sidecar's client on its own (the console pairs through it)."""
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
