"""The pure parts: status vocabulary, monotonic order, the sidecar signature, request validation."""

from __future__ import annotations

import pytest

from voice_gateway.settings import Settings, SettingsError, WhatsAppProvider
from voice_gateway.storage.database import async_url, iso_utc
from voice_gateway.whatsapp.model import Status, advances, normalise_status
from voice_gateway.whatsapp.signatures import bridge_signature_problem, sign_bridge_webhook
from voice_gateway.whatsapp.validation import Invalid, parse_send

NOW = 1_800_000_000
BODY = b'{"id": "e1", "type": "message.status", "data": {}}'


@pytest.mark.parametrize(
    ("provider", "raw", "unified"),
    [
        (WhatsAppProvider.BAILEYS, "pending", Status.QUEUED),
        (WhatsAppProvider.BAILEYS, "played", Status.READ),
        (WhatsAppProvider.BAILEYS, "failed", Status.FAILED),
        (WhatsAppProvider.TWILIO, "accepted", Status.QUEUED),
        (WhatsAppProvider.TWILIO, "sending", Status.QUEUED),
        (WhatsAppProvider.TWILIO, "undelivered", Status.FAILED),
        (WhatsAppProvider.TWILIO, "read", Status.READ),
    ],
)
def test_both_providers_speak_one_status_vocabulary(
    provider: WhatsAppProvider, raw: str, unified: Status
) -> None:
    assert normalise_status(provider, raw) is unified


def test_an_unknown_provider_status_is_not_guessed() -> None:
    assert normalise_status(WhatsAppProvider.TWILIO, "teleported") is None


def test_statuses_move_forward_and_proof_of_arrival_beats_a_failure() -> None:
    assert advances(Status.QUEUED, Status.SENT) and advances(Status.DELIVERED, Status.READ)
    assert not advances(Status.READ, Status.DELIVERED) and not advances(Status.SENT, Status.SENT)
    assert advances(Status.SENT, Status.FAILED) and advances(Status.FAILED, Status.DELIVERED)
    assert not advances(Status.DELIVERED, Status.FAILED)


def test_the_sidecar_signature_covers_timestamp_and_body_within_five_minutes() -> None:
    signature = sign_bridge_webhook("s", NOW, BODY)
    assert bridge_signature_problem("s", str(NOW), signature, BODY, NOW + 300) is None
    assert bridge_signature_problem("s", str(NOW), signature, BODY, NOW + 301) is not None
    assert bridge_signature_problem("s", str(NOW + 1), signature, BODY, NOW) is not None  # ts is signed
    assert bridge_signature_problem("other", str(NOW), signature, BODY, NOW) is not None
    assert bridge_signature_problem("s", "yesterday", signature, BODY, NOW) is not None


def test_several_signatures_allow_rotating_the_secret() -> None:
    both = f"{sign_bridge_webhook('old', NOW, BODY)}, {sign_bridge_webhook('new', NOW, BODY)}"
    assert bridge_signature_problem("new", str(NOW), both, BODY, NOW) is None


def test_a_send_request_is_parsed_with_its_provider_and_fallback() -> None:
    parsed = parse_send({"to": "+4915112345678", "text": "hi", "provider": "twilio", "fallback": True})
    assert parsed.provider is WhatsAppProvider.TWILIO and parsed.fallback
    assert parsed.message.to == "+4915112345678" and parsed.message.text == "hi"
    with pytest.raises(Invalid) as caught:
        parse_send({"to": "+4915112345678", "text": "hi", "fallback": "yes"})
    assert caught.value.problems == {"fallback": "expected true or false"}
    with pytest.raises(Invalid):
        parse_send(["not", "an", "object"])


def test_database_urls_map_to_the_async_drivers() -> None:
    assert async_url("sqlite:///./data/a.db") == "sqlite+aiosqlite:///./data/a.db"
    assert async_url("postgres://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"
    assert iso_utc("2026-01-01T10:00:00Z") == "2026-01-01T10:00:00.000000+00:00"
    assert iso_utc("not a time") is None


def test_whatsapp_settings_are_checked_with_one_line_errors() -> None:
    settings = Settings.from_env(
        {"WHATSAPP_DEFAULT_PROVIDER": "Twilio", "TWILIO_WHATSAPP_FROM": "+14155238886"}
    )
    assert settings.whatsapp_default_provider is WhatsAppProvider.TWILIO
    assert settings.twilio_whatsapp_from == "whatsapp:+14155238886"
    with pytest.raises(SettingsError, match="WHATSAPP_DEFAULT_PROVIDER='sms' is invalid: expected one of"):
        Settings.from_env({"WHATSAPP_DEFAULT_PROVIDER": "sms"})
    with pytest.raises(SettingsError, match="DATABASE_URL='mysql://x' is invalid"):
        Settings.from_env({"DATABASE_URL": "mysql://x"})
    with pytest.raises(SettingsError, match="TWILIO_WHATSAPP_FROM"):
        Settings.from_env({"TWILIO_WHATSAPP_FROM": "14155238886"})
    hidden = {
        "BRIDGE_WEBHOOK_SECRET": "s3kr1t-1",
        "API_TOKEN": "s3kr1t-2-api-token",
        "BRIDGE_API_KEY": "s3kr1t-3",
    }
    assert "s3kr1t" not in repr(Settings.from_env(hidden))
