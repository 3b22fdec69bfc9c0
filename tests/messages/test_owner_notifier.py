"""The owner's WhatsApp: at least once, never twice. Driven on a stepped clock (no waiting) through the real
hub and store, with a provider that is down, times out, refuses or takes the message as a test says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.messages.conftest import OWNER, taken
from voice_gateway.messages.model import NotifyState, OwnerMessage, from_contract
from voice_gateway.messages.notify import OwnerNotifier, RetryPolicy, notification_text
from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage import Store
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import OutgoingMessage, Status
from voice_gateway.whatsapp.service import (
    NotConfigured,
    ProviderError,
    RemoteStatus,
    SendLookup,
    SendReceipt,
    SendState,
    WhatsAppServices,
)
from voice_gateway.whatsapp.unconfirmed import settle

BAILEYS = WhatsAppProvider.BAILEYS
DOWN = ProviderError("not_connected", "the WhatsApp session is not open", 503, False)
TIMEOUT = ProviderError("bridge_timeout", "no answer within 60 s", 504, True)
NOT_ON_WHATSAPP = ProviderError("not_on_whatsapp", "the number is not on WhatsApp", 422, False)
POLICY = RetryPolicy(min_s=5, max_s=60, max_attempts=4, lease_s=90)


@dataclass
class FakeSidecar:
    """Answers each send with the next scripted outcome ("ok" once the script runs out)."""

    provider: WhatsAppProvider = BAILEYS
    script: list[ProviderError] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)  # every send's id, whatever became of it
    delivered: list[OutgoingMessage] = field(default_factory=list)
    lookup: SendLookup = field(default_factory=lambda: SendLookup(SendState.UNKNOWN))
    went: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        self.tried.append(message.id)
        if self.script:
            raise self.script.pop(0)
        self.delivered.append(message)
        self.went.set()
        return SendReceipt(self.provider, f"WA-{message.id}", Status.QUEUED, "pending")

    async def find_send(self, idempotency_key: str) -> SendLookup:
        return self.lookup

    async def status(self, provider_id: str) -> RemoteStatus:
        raise AssertionError("not used")

    async def check_contact(self, phone: str) -> bool | None:
        return True

    async def describe(self) -> dict[str, Any]:
        return {}


class Clock:
    def __init__(self) -> None:
        # A minute ahead of the real time at which messages are stored (due at once); the test steps on.
        self.now = datetime.now(UTC) + timedelta(seconds=60)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Rig:
    sidecar: FakeSidecar
    hub: WhatsAppHub
    store: OwnerMessageStore
    clock: Clock

    def notifier(self) -> OwnerNotifier:
        return OwnerNotifier(self.store, lambda: self.hub, OWNER, POLICY, self.clock)

    async def message(self) -> OwnerMessage:
        stored, _ = await self.store.add(from_contract(taken()), notify=True)
        return stored

    async def state(self, message: OwnerMessage) -> OwnerMessage:
        found = await self.store.get(message.id)
        assert found is not None
        return found


@pytest.fixture
async def rig(engine: AsyncEngine) -> AsyncIterator[Rig]:
    sidecar = FakeSidecar()
    services = WhatsAppServices({BAILEYS: sidecar, WhatsAppProvider.TWILIO: _Unconfigured()}, BAILEYS)
    yield Rig(sidecar, WhatsAppHub(Store(engine), services, None, False), OwnerMessageStore(engine), Clock())


class _Unconfigured(FakeSidecar):
    async def send(self, message: OutgoingMessage) -> SendReceipt:
        raise NotConfigured(WhatsAppProvider.TWILIO, "TWILIO_WHATSAPP_FROM")


async def test_a_provider_that_is_down_delays_the_notification_which_then_goes_once(rig: Rig) -> None:
    rig.sidecar.script = [DOWN, DOWN]
    message = await rig.message()
    notifier = rig.notifier()
    assert await notifier.run_once() == 1
    waiting = await rig.state(message)
    assert (waiting.notify_state, waiting.notify_attempts) == (NotifyState.PENDING, 1)
    assert waiting.notify_error == "not_connected: the WhatsApp session is not open"
    assert await notifier.run_once() == 0  # not due before its back-off
    rig.clock.advance(5)
    await notifier.run_once()
    assert (await rig.state(message)).notify_next_at == (rig.clock.now + timedelta(seconds=10)).isoformat(
        timespec="microseconds"
    )  # the back-off doubles
    rig.clock.advance(10)
    await notifier.run_once()
    sent = await rig.state(message)
    assert (sent.notify_state, sent.notify_attempts) == (NotifyState.SENT, 3)
    assert sent.notify_message_id == f"owner-{message.id}-3"
    rig.clock.advance(3600)
    assert await notifier.run_once() == 0
    assert [m.to for m in rig.sidecar.delivered] == [OWNER]
    assert rig.sidecar.delivered[0].text == notification_text(sent)


async def test_an_attempt_that_may_have_gone_is_never_repeated_until_the_provider_says_it_did_not(
    rig: Rig,
) -> None:
    rig.sidecar.script = [TIMEOUT]
    message = await rig.message()
    notifier = rig.notifier()
    await notifier.run_once()
    for _ in range(3):  # however often it is looked at, the unknown attempt is not sent again
        rig.clock.advance(60)
        await notifier.run_once()
    assert rig.sidecar.tried == [f"owner-{message.id}-1"]
    assert "waiting for the provider to confirm" in ((await rig.state(message)).notify_error or "")
    # The WhatsApp sweep learns from the sidecar that it never handed it on: now a second attempt goes.
    rig.sidecar.lookup = SendLookup(SendState.NOT_SENT)
    attempt = await rig.hub.store.get(f"owner-{message.id}-1")
    assert attempt is not None
    await settle(rig.hub, attempt, 900, rig.clock.now)
    rig.clock.advance(60)
    await notifier.run_once()
    assert rig.sidecar.tried == [f"owner-{message.id}-1", f"owner-{message.id}-2"]
    assert (await rig.state(message)).notify_state is NotifyState.SENT


async def test_an_attempt_the_provider_later_confirms_counts_as_sent(rig: Rig) -> None:
    rig.sidecar.script = [TIMEOUT]
    message = await rig.message()
    notifier = rig.notifier()
    await notifier.run_once()
    rig.sidecar.lookup = SendLookup(
        SendState.ACCEPTED, "WA-late", RemoteStatus(Status.SENT, "sent", None, None)
    )
    attempt = await rig.hub.store.get(f"owner-{message.id}-1")
    assert attempt is not None
    await settle(rig.hub, attempt, 900, rig.clock.now)
    rig.clock.advance(60)
    await notifier.run_once()
    assert (await rig.state(message)).notify_state is NotifyState.SENT
    assert rig.sidecar.tried == [f"owner-{message.id}-1"]


async def test_an_attempt_handed_on_and_never_confirmed_is_failed_not_repeated(rig: Rig) -> None:
    rig.sidecar.script = [TIMEOUT]
    message = await rig.message()
    notifier = rig.notifier()
    await notifier.run_once()
    attempt = await rig.hub.store.get(f"owner-{message.id}-1")
    assert attempt is not None
    await settle(rig.hub, attempt, 0, rig.clock.now + timedelta(seconds=1))  # overdue, still unknown
    rig.clock.advance(60)
    await notifier.run_once()
    failed = await rig.state(message)
    assert failed.notify_state is NotifyState.FAILED and "may have arrived" in (failed.notify_error or "")
    assert rig.sidecar.tried == [f"owner-{message.id}-1"]


async def test_a_refusal_another_try_would_repeat_fails_at_once(rig: Rig) -> None:
    rig.sidecar.script = [NOT_ON_WHATSAPP]
    message = await rig.message()
    await rig.notifier().run_once()
    failed = await rig.state(message)
    assert failed.notify_state is NotifyState.FAILED
    assert failed.notify_error == "not_on_whatsapp: the number is not on WhatsApp"


async def test_after_the_last_attempt_the_notification_is_failed(rig: Rig) -> None:
    rig.sidecar.script = [DOWN] * 10
    message = await rig.message()
    notifier = rig.notifier()
    for _ in range(6):
        await notifier.run_once()
        rig.clock.advance(60)
    failed = await rig.state(message)
    assert (failed.notify_state, failed.notify_attempts) == (NotifyState.FAILED, 4)
    assert (
        failed.notify_error == "not sent after 4 attempts (not_connected: the WhatsApp session is not open)"
    )


async def test_two_gateways_on_one_database_send_it_once(rig: Rig) -> None:
    message = await rig.message()
    await asyncio.gather(rig.notifier().run_once(), rig.notifier().run_once())
    assert rig.sidecar.tried == [f"owner-{message.id}-1"]
    assert (await rig.state(message)).notify_state is NotifyState.SENT


async def test_an_attempt_claimed_by_a_gateway_that_then_stopped_is_sent_after_its_lease(rig: Rig) -> None:
    message = await rig.message()
    lease = (rig.clock.now + timedelta(seconds=POLICY.lease_s)).isoformat(timespec="microseconds")
    assert await rig.store.claim(message.id, 1, f"owner-{message.id}-1", lease)  # …and then it died
    restarted = rig.notifier()
    assert await restarted.run_once() == 0
    rig.clock.advance(POLICY.lease_s)
    await restarted.run_once()
    assert rig.sidecar.tried == [f"owner-{message.id}-1"]  # the same id: the sidecar's key would catch a twin
    assert (await rig.state(message)).notify_state is NotifyState.SENT


class ParkingStore(OwnerMessageStore):
    """Tells when the notifier has looked for the next due time, i.e. is about to sleep until it."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.parked = asyncio.Event()

    async def next_due_at(self) -> str | None:
        found = await super().next_due_at()
        self.parked.set()
        return found


async def test_a_new_message_wakes_the_notifier_at_once(rig: Rig, engine: AsyncEngine) -> None:
    store = ParkingStore(engine)
    notifier = OwnerNotifier(store, lambda: rig.hub, OWNER, RetryPolicy(max_s=3600), rig.clock)
    running = asyncio.create_task(notifier.run())
    try:
        async with asyncio.timeout(10):
            await store.parked.wait()  # asleep for up to an hour: nothing was due
            await store.add(from_contract(taken()), notify=True)
            notifier.wake()
            await rig.sidecar.went.wait()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert len(rig.sidecar.delivered) == 1
