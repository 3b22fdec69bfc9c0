"""The owner's WhatsApp for every message taken (OWNER_WHATSAPP): at least once, never twice.

Each attempt is one send through the WhatsApp hub to WHATSAPP_DEFAULT_PROVIDER (no fail-over: Twilio
refuses a free text outside the 24-hour window, which would fail a notification the sidecar could still
deliver) under its own id, `owner-<message id>-<attempt>`, which is also the sidecar's Idempotency-Key.
A new attempt is made only once the one before is known not to have been sent: refused, or the provider
down or unreachable. An attempt whose outcome is unknown (a timeout) is looked at again until the
WhatsApp sweep (whatsapp/unconfirmed.py) settles it: taken means sent, never handed on means the next
attempt, and handed on but never confirmed means failed, because it may well have arrived.
Retries back off from OWNER_NOTIFY_RETRY_MIN_S to OWNER_NOTIFY_RETRY_MAX_S; after
OWNER_NOTIFY_MAX_ATTEMPTS, or a refusal that another try would only repeat, the notification is failed.

One task, owned by GatewayServices, does the work; what is pending lives in the database, so a restarted
gateway carries on where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from voice_gateway.errors import GatewayStopped
from voice_gateway.messages import metrics
from voice_gateway.messages.model import OwnerMessage
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.whatsapp.hub import WhatsAppHub
from voice_gateway.whatsapp.model import OutgoingMessage, Status

log = logging.getLogger("voice_gateway.messages")

BATCH = 20
# A refusal another try would only repeat: the request itself is wrong for this number.
PERMANENT = frozenset({400, 404, 422})
_ARRIVED = frozenset({Status.SENT, Status.DELIVERED, Status.READ})
_CHANNELS = {"voice": "by phone", "whatsapp": "on WhatsApp"}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    min_s: float = 5.0
    max_s: float = 300.0
    max_attempts: int = 100
    lease_s: float = 90.0  # longer than any one send may take (BAILEYS_BRIDGE_TIMEOUT_S + a margin)

    def delay_s(self, attempt: int) -> float:
        return float(min(self.max_s, self.min_s * 2.0 ** max(0, attempt - 1)))


def notification_text(message: OwnerMessage) -> str:
    number = message.number or "no number given"
    if message.number and message.number_is_caller_id:
        number += " (the number they called from)"
    taken = message.taken_at[:16].replace("T", " ") + " UTC"
    lines = [
        f"New message, taken {_CHANNELS.get(message.channel, 'by chat')} at {taken}",
        f"From: {message.name or 'a caller who gave no name'}",
        f"Call back: {number}",
        f"About: {message.reason or 'not said'}",
    ]
    return "\n".join(lines)[:4096]


class OwnerNotifier:
    def __init__(
        self,
        store: OwnerMessageStore,
        hub: Callable[[], WhatsAppHub],
        owner: str,
        policy: RetryPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._hub = hub
        self.owner = owner
        self._policy = policy
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A message was stored: look now rather than at the next due time."""
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled: every notification that is due, then sleep until the next is (or a wake)."""
        while True:
            self._wake.clear()
            try:
                if await self.run_once() == BATCH:
                    continue
                timeout = await self._seconds_to_next()
            except GatewayStopped:
                return
            except Exception:
                log.exception("OWNER_NOTIFY_LOOP_FAILED")
                timeout = self._policy.min_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def run_once(self) -> int:
        due = await self._store.due(_iso(self._clock()), BATCH)
        for message in due:
            await self.attempt(message)
        return len(due)

    async def _seconds_to_next(self) -> float:
        next_at = await self._store.next_due_at()
        if next_at is None:
            return self._policy.max_s
        wait = (datetime.fromisoformat(next_at) - self._clock()).total_seconds()
        return min(self._policy.max_s, max(0.0, wait))

    async def attempt(self, message: OwnerMessage) -> None:
        """One step for one due notification: settle the previous attempt, or make the next one."""
        tried, previous_id = message.notify_attempts, message.notify_message_id
        if tried and previous_id:
            previous = await self._hub().store.get(previous_id)
            if previous is None:
                # Claimed, then the process stopped before storing it: no provider ever saw it.
                if await self._store.wait(message.id, tried, self._after(self._policy.lease_s), None):
                    await self._send(message, tried, previous_id)
                return
            if previous.provider_id is not None or previous.status in _ARRIVED:
                await self._sent(message, tried, previous_id)
                return
            if previous.status is not Status.FAILED:
                await self._wait(message, tried, f"attempt {tried} is waiting for the provider to confirm it")
                return
            if previous.error_code == "send_unconfirmed":
                await self._give_up(
                    message, tried, f"attempt {tried} was handed on and never confirmed; it may have arrived"
                )
                return
        if tried >= self._policy.max_attempts:
            await self._give_up(message, tried, f"not sent after {tried} attempts ({message.notify_error})")
            return
        attempt = tried + 1
        whatsapp_id = f"owner-{message.id}-{attempt}"
        if await self._store.claim(message.id, attempt, whatsapp_id, self._after(self._policy.lease_s)):
            await self._send(message, attempt, whatsapp_id)

    async def _send(self, message: OwnerMessage, attempt: int, whatsapp_id: str) -> None:
        outgoing = OutgoingMessage(id=whatsapp_id, to=self.owner, text=notification_text(message))
        try:
            outcome = await self._hub().send(outgoing, None, fallback=False)
        except IntegrityError:
            log.info("OWNER_NOTIFY_ELSEWHERE id=%s attempt=%d", message.id, attempt)  # another gateway has it
            return
        except GatewayStopped:
            raise
        except Exception as exc:  # the database, most likely; the attempt was never stored as sent
            log.exception("OWNER_NOTIFY_ATTEMPT_FAILED id=%s attempt=%d", message.id, attempt)
            await self._wait(message, attempt, f"{type(exc).__name__}: {exc}")
            return
        error = outcome.error
        if error is None:
            await self._sent(message, attempt, whatsapp_id)
        elif error.accepted_possible:
            await self._wait(message, attempt, f"{error.code}: {error.message} (it may have been sent)")
        elif error.http_status in PERMANENT:
            await self._give_up(message, attempt, f"{error.code}: {error.message}")
        else:
            await self._wait(message, attempt, f"{error.code}: {error.message}")

    async def _sent(self, message: OwnerMessage, attempts: int, whatsapp_id: str) -> None:
        if await self._store.sent(message.id, attempts, whatsapp_id, _iso(self._clock())):
            metrics.OWNER_NOTIFICATIONS.labels("sent").inc()
            log.info("OWNER_NOTIFIED id=%s attempts=%d whatsapp_id=%s", message.id, attempts, whatsapp_id)

    async def _wait(self, message: OwnerMessage, attempts: int, error: str) -> None:
        delay = self._policy.delay_s(attempts)
        if await self._store.wait(message.id, attempts, self._after(delay), error):
            metrics.OWNER_NOTIFICATIONS.labels("retry").inc()
            log.warning(
                "OWNER_NOTIFY_RETRY id=%s attempts=%d in_s=%.1f error=%s", message.id, attempts, delay, error
            )

    async def _give_up(self, message: OwnerMessage, attempts: int, error: str) -> None:
        if await self._store.give_up(message.id, attempts, error):
            metrics.OWNER_NOTIFICATIONS.labels("failed").inc()
            log.error("OWNER_NOTIFY_FAILED id=%s attempts=%d error=%s", message.id, attempts, error)

    def _after(self, seconds: float) -> str:
        return _iso(self._clock() + timedelta(seconds=seconds))


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")
