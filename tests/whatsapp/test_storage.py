"""The data layer on both databases: SQLite (a file) and a real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.whatsapp.conftest import contact, sqlite_url
from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage import StatusOutcome, Store
from voice_gateway.whatsapp.model import Direction, OutgoingMessage, Status

BAILEYS = WhatsAppProvider.BAILEYS
TWILIO = WhatsAppProvider.TWILIO
AT = "2026-01-01T00:00:00.000000+00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = await Store.open(url)
    assert opened.backend == request.param
    yield opened
    await opened.close()


def outgoing(to: str) -> OutgoingMessage:
    return OutgoingMessage(id=uuid.uuid4().hex, to=to, text="hello")


async def test_an_inbound_message_is_stored_once_however_often_it_is_delivered(store: Store) -> None:
    who = contact()
    first = await store.record_inbound(BAILEYS, "WA1", who, "hi", None, AT, event_id="ev-1")
    assert first is not None and first.direction is Direction.INBOUND and first.status is Status.RECEIVED
    # The same event redelivered, and the same WhatsApp message under a new event id: both ignored.
    assert await store.record_inbound(BAILEYS, "WA1", who, "hi", None, AT, event_id="ev-1") is None
    assert await store.record_inbound(BAILEYS, "WA1", who, "hi", None, AT, event_id="ev-2") is None
    # The same provider id from the other provider is a different message.
    assert await store.record_inbound(TWILIO, "WA1", who, "hi", None, AT) is not None
    assert len(await store.list_for_contact(who)) == 2


async def test_statuses_only_move_forward_and_every_report_is_kept(store: Store) -> None:
    who = contact()
    sent = await store.create_outbound(outgoing(who), TWILIO)
    await store.mark_accepted(sent.id, TWILIO, "SM1", Status.QUEUED, "queued")
    assert (
        await store.record_status(TWILIO, "SM1", Status.READ, "read", None, AT, "e1") is StatusOutcome.APPLIED
    )
    # Delivered arrives after read (out of order): recorded, but the message stays read.
    assert (
        await store.record_status(TWILIO, "SM1", Status.DELIVERED, "delivered", None, AT)
        is StatusOutcome.KEPT
    )
    # A failure report cannot undo proof of reading.
    assert (
        await store.record_status(TWILIO, "SM1", Status.FAILED, "failed", "63016", AT) is StatusOutcome.KEPT
    )
    assert (
        await store.record_status(TWILIO, "SM1", Status.READ, "read", None, AT, "e1")
        is StatusOutcome.DUPLICATE
    )
    message = await store.get(sent.id)
    assert message is not None and message.status is Status.READ and message.error_code is None
    assert [(e.raw_status, e.applied) for e in message.history] == [
        ("queued", False),
        ("read", True),
        ("delivered", False),
        ("failed", False),
    ]


async def test_a_failure_moves_a_sent_message_to_failed_with_its_code(store: Store) -> None:
    sent = await store.create_outbound(outgoing(contact()), TWILIO)
    await store.mark_accepted(sent.id, TWILIO, "SM2", Status.QUEUED, "queued")
    await store.record_status(TWILIO, "SM2", Status.FAILED, "undelivered", "63016", AT)
    message = await store.get(sent.id)
    assert message is not None and message.status is Status.FAILED and message.error_code == "63016"


async def test_a_status_that_races_ahead_of_the_send_result_is_applied_when_the_send_returns(
    store: Store,
) -> None:
    sent = await store.create_outbound(outgoing(contact()), BAILEYS)
    outcome = await store.record_status(BAILEYS, "WA-RACE", Status.DELIVERED, "delivered", None, AT, "e-race")
    assert outcome is StatusOutcome.ORPHANED
    accepted = await store.mark_accepted(sent.id, BAILEYS, "WA-RACE", Status.QUEUED, "pending")
    assert accepted.status is Status.DELIVERED
    # The history is in the order we received the reports: the early one first.
    assert [(e.raw_status, e.applied) for e in accepted.history] == [("delivered", True), ("pending", False)]


async def test_a_refused_send_is_failed_and_a_fallback_is_recorded_in_the_history(store: Store) -> None:
    who = contact()
    failed = await store.create_outbound(outgoing(who), BAILEYS)
    await store.note_rejection(failed.id, BAILEYS, "not_connected", None)
    moved = await store.create_outbound(outgoing(who), BAILEYS)
    await store.note_rejection(moved.id, BAILEYS, "not_connected", TWILIO)
    await store.mark_accepted(moved.id, TWILIO, "SM3", Status.QUEUED, "queued")
    listed = {m.id: m for m in await store.list_for_contact(who)}
    assert listed[failed.id].status is Status.FAILED and listed[failed.id].error_code == "not_connected"
    assert listed[moved.id].status is Status.QUEUED and listed[moved.id].provider is TWILIO
    assert [(e.provider, e.error_code) for e in listed[moved.id].history][0] == ("baileys", "not_connected")


async def test_messages_are_listed_per_contact_oldest_first(store: Store) -> None:
    who, other = contact(), contact()
    await store.record_inbound(BAILEYS, "A", who, "one", None, "2026-01-01T00:00:01.000000+00:00")
    await store.record_inbound(BAILEYS, "B", other, "elsewhere", None, "2026-01-01T00:00:02.000000+00:00")
    await store.record_inbound(BAILEYS, "C", who, "two", None, "2026-01-01T00:00:03.000000+00:00")
    assert [m.text for m in await store.list_for_contact(who)] == ["one", "two"]
    assert [m.text for m in await store.list_for_contact(who, limit=1)] == ["two"]


async def test_the_data_survives_reopening_the_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    first = await Store.open(url)
    stored = await first.record_inbound(TWILIO, "SMx", "+4915112345678", "kept", None, AT)
    await first.close()
    second = await Store.open(url)
    assert stored is not None and (await second.get(stored.id)) == stored
    await second.close()
