"""The one async data layer for WhatsApp: SQLite (a file) by default, PostgreSQL by URL.

Every write that answers a webhook happens in one transaction, so a 2xx means the event is stored,
and a redelivered event (same event id or same provider message id) changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage.database import iso_utc, now_iso
from voice_gateway.storage.schema import messages, status_events
from voice_gateway.storage.store_base import StatusOutcome, StoreBase
from voice_gateway.whatsapp.model import Direction, Message, OutgoingMessage, Status


@dataclass(frozen=True, slots=True)
class SendKey:
    """An API client's `Idempotency-Key` for one send, and a digest of the request it came with."""

    key: str
    request_hash: str


class KeyTaken(Exception):
    """This key was used before: the message it made, and whether the request was the same one."""

    def __init__(self, message: Message, same_request: bool) -> None:
        super().__init__(message.id)
        self.message = message
        self.same_request = same_request


class Store(StoreBase):
    async def create_outbound(
        self, outgoing: OutgoingMessage, provider: WhatsAppProvider, key: SendKey | None = None
    ) -> Message:
        """Store a send before it is attempted; `KeyTaken` when `key` made a message before."""
        at = now_iso()
        media = json.dumps(outgoing.media.summary()) if outgoing.media else None
        if outgoing.template is not None:
            media = json.dumps({"template": outgoing.template.content_sid})
        async with self._engine.begin() as conn:
            if key is not None and await self._keyed(conn, key.key) is not None:
                inserted = False
            else:
                conversation = await self._conversation(conn, outgoing.to, at)
                inserted = await self._insert_outbound(conn, outgoing, provider, key, conversation, media, at)
        if not inserted:
            assert key is not None
            async with self._engine.connect() as conn:
                taken = await self._keyed(conn, key.key)
            assert taken is not None
            raise KeyTaken(await self._require(taken[0]), taken[1] == key.request_hash)
        return await self._require(outgoing.id)

    async def _keyed(self, conn: AsyncConnection, key: str) -> tuple[str, str | None] | None:
        query = select(messages.c.id, messages.c.request_hash).where(messages.c.idempotency_key == key)
        row = (await conn.execute(query)).first()
        return None if row is None else (row.id, row.request_hash)

    async def _insert_outbound(
        self,
        conn: AsyncConnection,
        outgoing: OutgoingMessage,
        provider: WhatsAppProvider,
        key: SendKey | None,
        conversation: int,
        media: str | None,
        at: str,
    ) -> bool:
        # Two requests with one key at once: the unique index lets exactly one insert.
        inserted = await conn.execute(
            self._insert(messages)
            .values(
                id=outgoing.id,
                conversation_id=conversation,
                contact=outgoing.to,
                direction=Direction.OUTBOUND.value,
                provider=provider.value,
                provider_id=None,
                status=Status.QUEUED.value,
                text=outgoing.text,
                media=media,
                created_at=at,
                updated_at=at,
                idempotency_key=key.key if key else None,
                request_hash=key.request_hash if key else None,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(messages.c.id)
        )
        return inserted.first() is not None

    async def note_rejection(
        self,
        message_id: str,
        provider: WhatsAppProvider,
        code: str,
        next_provider: WhatsAppProvider | None,
        raw_status: str = "rejected",
    ) -> None:
        """A provider refused before accepting: keep that in the history; fail over or fail the message."""
        at = now_iso()
        async with self._engine.begin() as conn:
            await conn.execute(
                status_events.insert().values(
                    message_id=message_id,
                    provider=provider.value,
                    status=Status.FAILED.value,
                    raw_status=raw_status,
                    error_code=code,
                    applied=0 if next_provider else 1,
                    at=at,
                    received_at=at,
                )
            )
            values: dict[str, Any] = {"updated_at": at}
            if next_provider is None:
                values.update(status=Status.FAILED.value, error_code=code)
            else:
                values["provider"] = next_provider.value
            await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))

    async def mark_accepted(
        self,
        message_id: str,
        provider: WhatsAppProvider,
        provider_id: str,
        status: Status,
        raw_status: str,
        error_code: str | None = None,
    ) -> Message:
        """The provider took the message (or, found later, what became of it); also apply any status
        reports that raced ahead of this."""
        at = now_iso()
        async with self._engine.begin() as conn:
            await conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(provider=provider.value, provider_id=provider_id, updated_at=at)
            )
            await self._apply(conn, message_id, provider, provider_id, status, raw_status, error_code, at, at)
            orphans = (
                await conn.execute(
                    select(status_events)
                    .where(
                        status_events.c.message_id.is_(None),
                        status_events.c.provider == provider.value,
                        status_events.c.provider_id == provider_id,
                    )
                    .order_by(status_events.c.id)
                )
            ).all()
            for orphan in orphans:
                await conn.execute(status_events.delete().where(status_events.c.id == orphan.id))
                await self._apply(
                    conn,
                    message_id,
                    provider,
                    provider_id,
                    Status(orphan.status),
                    orphan.raw_status,
                    orphan.error_code,
                    orphan.at,
                    orphan.received_at,
                )
        return await self._require(message_id)

    async def record_status(
        self,
        provider: WhatsAppProvider,
        provider_id: str,
        status: Status,
        raw_status: str,
        error_code: str | None,
        at: str,
        event_id: str | None = None,
    ) -> StatusOutcome:
        received = now_iso()
        async with self._engine.begin() as conn:
            if not await self._first_sighting(conn, provider.value, event_id):
                return StatusOutcome.DUPLICATE
            message_id = await conn.scalar(
                select(messages.c.id).where(
                    messages.c.provider == provider.value, messages.c.provider_id == provider_id
                )
            )
            if message_id is None:
                await conn.execute(
                    status_events.insert().values(
                        message_id=None,
                        provider=provider.value,
                        provider_id=provider_id,
                        status=status.value,
                        raw_status=raw_status,
                        error_code=error_code,
                        applied=0,
                        at=at,
                        received_at=received,
                    )
                )
                return StatusOutcome.ORPHANED
            moved = await self._apply(
                conn, message_id, provider, provider_id, status, raw_status, error_code, at, received
            )
        return StatusOutcome.APPLIED if moved else StatusOutcome.KEPT

    async def record_inbound(
        self,
        provider: WhatsAppProvider,
        provider_id: str,
        contact: str,
        text: str | None,
        media: dict[str, Any] | None,
        sent_at: str | None,
        event_id: str | None = None,
        auto_reply: bool = False,
    ) -> Message | None:
        """Store an incoming message; None when this event or this provider message was stored before.

        Messages are ordered by when we stored them: the provider's own `sent_at` has one-second
        resolution (WhatsApp) and a late redelivery from an outbox must not be listed out of sight.
        """
        message_id = f"{provider.value}:{provider_id}"
        at = now_iso()
        async with self._engine.begin() as conn:
            if not await self._first_sighting(conn, provider.value, event_id):
                return None
            conversation = await self._conversation(conn, contact, at)
            inserted = await conn.execute(
                self._insert(messages)
                .values(
                    id=message_id,
                    conversation_id=conversation,
                    contact=contact,
                    direction=Direction.INBOUND.value,
                    provider=provider.value,
                    provider_id=provider_id,
                    status=Status.RECEIVED.value,
                    text=text,
                    media=json.dumps(media) if media else None,
                    auto_reply="pending" if auto_reply else None,
                    sent_at=iso_utc(sent_at),
                    created_at=at,
                    updated_at=at,
                )
                .on_conflict_do_nothing()
                .returning(messages.c.id)
            )
            if inserted.first() is None:
                return None
        return await self._require(message_id)

    async def mark_event_seen(self, provider: WhatsAppProvider, event_id: str) -> bool:
        """For events we only log (session changes): True the first time this id is seen."""
        async with self._engine.begin() as conn:
            return await self._first_sighting(conn, provider.value, event_id)

    async def set_auto_reply(self, message_id: str, state: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(messages).where(messages.c.id == message_id).values(auto_reply=state))
