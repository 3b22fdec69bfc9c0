"""Sends whose outcome is unknown (the provider never answered) are settled, never left `queued` forever:
by what the provider says when asked by the send's key, or failed once `WHATSAPP_UNCONFIRMED_SEND_TIMEOUT_S`
has passed. A stand-in provider answers as scripted; the store is real (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.whatsapp.conftest import contact, sqlite_url
from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage import KeyTaken, SendKey, Store
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import Message, OutgoingMessage, Status
from voice_gateway.whatsapp.service import (
    ProviderError,
    RemoteStatus,
    SendLookup,
    SendReceipt,
    SendState,
    WhatsAppServices,
)
from voice_gateway.whatsapp.unconfirmed import settle, sweep

BAILEYS = WhatsAppProvider.BAILEYS
DEADLINE_S = 900.0


class Provider:
    """Takes every send and never answers (as a sidecar that died mid-send); says what `lookup` says."""

    def __init__(self, provider: WhatsAppProvider) -> None:
        self.provider = provider
        self.lookup: SendLookup | ProviderError = SendLookup(SendState.UNKNOWN)
        self.asked: list[str] = []

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        raise ProviderError("bridge_error", "the connection closed mid-request", 502, True)

    async def status(self, provider_id: str) -> RemoteStatus:
        raise AssertionError("an unresolved send has no provider id to ask about")

    async def find_send(self, idempotency_key: str) -> SendLookup:
        self.asked.append(idempotency_key)
        if isinstance(self.lookup, ProviderError):
            raise self.lookup
        return self.lookup

    async def check_contact(self, phone: str) -> bool | None:
        return None

    async def describe(self) -> dict[str, Any]:
        return {}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WhatsAppHub]:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    store = await Store.open(url)
    providers = {p: Provider(p) for p in WhatsAppProvider}
    yield WhatsAppHub(store, WhatsAppServices(dict(providers), BAILEYS), None, False)
    await store.close()


def sidecar(hub: WhatsAppHub) -> Provider:
    found = hub.services.get_whatsapp_service(BAILEYS)
    assert isinstance(found, Provider)
    return found


async def died_mid_send(hub: WhatsAppHub, key: SendKey | None = None) -> Message:
    outcome = await hub.send(OutgoingMessage(uuid.uuid4().hex, contact(), "hello"), BAILEYS, False, key)
    assert outcome.error is not None and outcome.error.accepted_possible
    assert (outcome.message.status, outcome.message.provider_id) == (Status.QUEUED, None)
    return outcome.message


def later(message: Message, seconds: float) -> datetime:
    return datetime.fromisoformat(message.created_at) + timedelta(seconds=seconds)


async def test_a_send_the_sidecar_never_reserved_an_id_for_fails_at_once_as_lost(hub: WhatsAppHub) -> None:
    message = await died_mid_send(hub)
    sidecar(hub).lookup = SendLookup(SendState.NOT_SENT)
    settled = await settle(hub, message, DEADLINE_S, later(message, 1))
    assert (settled.status, settled.error_code) == (Status.FAILED, "send_lost")
    assert sidecar(hub).asked == [message.id]  # asked by the key it was sent with: its id


async def test_an_accepted_send_gets_its_provider_id_and_the_reports_that_waited_for_it(
    hub: WhatsAppHub,
) -> None:
    message = await died_mid_send(hub)
    # The receipt arrived while no message had this provider id: kept as an orphan.
    await hub.store.record_status(BAILEYS, "3EB0AAA", Status.DELIVERED, "delivered", None, message.created_at)
    sidecar(hub).lookup = SendLookup(
        SendState.ACCEPTED, "3EB0AAA", RemoteStatus(Status.QUEUED, "pending", None, None)
    )
    settled = await settle(hub, message, DEADLINE_S, later(message, 1))
    assert (settled.provider_id, settled.status) == ("3EB0AAA", Status.DELIVERED)


async def test_an_unconfirmed_send_waits_for_the_deadline_then_fails_but_a_late_receipt_still_counts(
    hub: WhatsAppHub,
) -> None:
    message = await died_mid_send(hub)
    sidecar(hub).lookup = SendLookup(
        SendState.UNCONFIRMED, "3EB0BBB", RemoteStatus(Status.QUEUED, "pending", None, None)
    )
    assert await settle(hub, message, DEADLINE_S, later(message, DEADLINE_S - 1)) == message
    settled = await settle(hub, message, DEADLINE_S, later(message, DEADLINE_S))
    assert (settled.status, settled.error_code, settled.provider_id) == (
        Status.FAILED,
        "send_unconfirmed",
        "3EB0BBB",
    )
    await hub.store.record_status(BAILEYS, "3EB0BBB", Status.DELIVERED, "delivered", None, message.created_at)
    assert (await hub.store.get(message.id)).status is Status.DELIVERED  # type: ignore[union-attr]


async def test_an_unconfirmed_send_whose_receipts_show_it_went_out_is_taken_as_sent(hub: WhatsAppHub) -> None:
    message = await died_mid_send(hub)
    sidecar(hub).lookup = SendLookup(
        SendState.UNCONFIRMED, "3EB0CCC", RemoteStatus(Status.SENT, "sent", None, None)
    )
    settled = await settle(hub, message, DEADLINE_S, later(message, 1))
    assert (settled.status, settled.provider_id) == (Status.SENT, "3EB0CCC")


async def test_with_the_provider_unreachable_only_the_deadline_settles_it(hub: WhatsAppHub) -> None:
    message = await died_mid_send(hub)
    sidecar(hub).lookup = ProviderError("bridge_unreachable", "connection refused", 503, False)
    assert await settle(hub, message, DEADLINE_S, later(message, 60)) == message
    settled = await settle(hub, message, DEADLINE_S, later(message, DEADLINE_S + 1))
    assert (settled.status, settled.error_code, settled.provider_id) == (
        Status.FAILED,
        "send_unconfirmed",
        None,
    )


async def test_a_send_still_running_is_never_settled(hub: WhatsAppHub) -> None:
    message = await died_mid_send(hub)
    sidecar(hub).lookup = SendLookup(SendState.IN_FLIGHT, "3EB0DDD")
    assert await settle(hub, message, DEADLINE_S, later(message, DEADLINE_S * 2)) == message
    sidecar(hub).lookup = SendLookup(SendState.NOT_SENT)
    hub.sending.add(message.id)  # this process is sending it right now
    assert await settle(hub, message, DEADLINE_S, later(message, DEADLINE_S * 2)) == message
    assert sidecar(hub).asked == [message.id]


async def test_the_sweep_settles_only_sends_older_than_its_grace(hub: WhatsAppHub) -> None:
    old, new = await died_mid_send(hub), await died_mid_send(hub)
    sidecar(hub).lookup = SendLookup(SendState.NOT_SENT)
    grace_s = (
        datetime.fromisoformat(new.created_at) - datetime.fromisoformat(old.created_at)
    ).total_seconds()
    assert await sweep(hub, grace_s / 2, DEADLINE_S, later(old, grace_s)) == 1
    assert (await hub.store.get(old.id)).status is Status.FAILED  # type: ignore[union-attr]
    assert (await hub.store.get(new.id)).status is Status.QUEUED  # type: ignore[union-attr]


async def test_a_key_makes_one_message_and_a_different_request_with_it_is_told_apart(
    hub: WhatsAppHub,
) -> None:
    first = await died_mid_send(hub, SendKey("order-17", "a" * 64))
    with pytest.raises(KeyTaken) as again:
        await died_mid_send(hub, SendKey("order-17", "a" * 64))
    assert again.value.message.id == first.id and again.value.same_request
    with pytest.raises(KeyTaken) as other:
        await died_mid_send(hub, SendKey("order-17", "b" * 64))
    assert not other.value.same_request
    assert len(await hub.store.list_for_contact(first.contact)) == 1
