"""The one async data layer for WhatsApp: SQLite (a file) by default, PostgreSQL by URL.

Every write that answers a webhook happens in one transaction, so a 2xx means the event is stored,
and a redelivered event (same event id or same provider message id) changes nothing.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage.database import iso_utc, now_iso
from voice_gateway.storage.message_rows import read_message
from voice_gateway.storage.schema import conversations, messages, open_database, status_events, webhook_events
from voice_gateway.whatsapp.model import Direction, Message, OutgoingMessage, Status, advances


class StatusOutcome(enum.StrEnum):
    APPLIED = "applied"  # the message moved forward
    KEPT = "kept"  # recorded in the history; an older or equal status does not move the message
    ORPHANED = "orphaned"  # no message has this provider id yet; kept and applied once one does
    DUPLICATE = "duplicate"  # this event id was stored before; nothing changed


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    @classmethod
    async def open(cls, url: str) -> Store:
        return cls(await open_database(url))

    @property
    def backend(self) -> str:
        return self._dialect

    async def close(self) -> None:
        await self._engine.dispose()

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    async def _conversation(self, conn: AsyncConnection, contact: str, at: str) -> int:
        await conn.execute(
            self._insert(conversations)
            .values(contact=contact, created_at=at, last_message_at=at)
            .on_conflict_do_nothing(index_elements=["contact"])
        )
        await conn.execute(
            update(conversations).where(conversations.c.contact == contact).values(last_message_at=at)
        )
        found = await conn.scalar(select(conversations.c.id).where(conversations.c.contact == contact))
        assert found is not None
        return int(found)

    async def _first_sighting(self, conn: AsyncConnection, provider: str, event_id: str | None) -> bool:
        if not event_id:
            return True
        inserted = await conn.execute(
            self._insert(webhook_events)
            .values(provider=provider, event_id=event_id, received_at=now_iso())
            .on_conflict_do_nothing()
            .returning(webhook_events.c.event_id)
        )
        return inserted.first() is not None

    async def create_outbound(self, outgoing: OutgoingMessage, provider: WhatsAppProvider) -> Message:
        at = now_iso()
        media = json.dumps(outgoing.media.summary()) if outgoing.media else None
        if outgoing.template is not None:
            media = json.dumps({"template": outgoing.template.content_sid})
        async with self._engine.begin() as conn:
            conversation = await self._conversation(conn, outgoing.to, at)
            await conn.execute(
                messages.insert().values(
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
                )
            )
        return await self._require(outgoing.id)

    async def note_rejection(
        self, message_id: str, provider: WhatsAppProvider, code: str, next_provider: WhatsAppProvider | None
    ) -> None:
        """A provider refused before accepting: keep that in the history; fail over or fail the message."""
        at = now_iso()
        async with self._engine.begin() as conn:
            await conn.execute(
                status_events.insert().values(
                    message_id=message_id,
                    provider=provider.value,
                    status=Status.FAILED.value,
                    raw_status="rejected",
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
        self, message_id: str, provider: WhatsAppProvider, provider_id: str, status: Status, raw_status: str
    ) -> Message:
        """The provider took the message; also apply any status reports that raced ahead of this."""
        at = now_iso()
        async with self._engine.begin() as conn:
            await conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(provider=provider.value, provider_id=provider_id, updated_at=at)
            )
            await self._apply(conn, message_id, provider, provider_id, status, raw_status, None, at, at)
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

    async def _apply(
        self,
        conn: AsyncConnection,
        message_id: str,
        provider: WhatsAppProvider,
        provider_id: str | None,
        status: Status,
        raw_status: str,
        error_code: str | None,
        at: str,
        received_at: str,
    ) -> bool:
        current = await conn.scalar(select(messages.c.status).where(messages.c.id == message_id))
        moves = current is not None and advances(Status(current), status)
        await conn.execute(
            status_events.insert().values(
                message_id=message_id,
                provider=provider.value,
                provider_id=provider_id,
                status=status.value,
                raw_status=raw_status,
                error_code=error_code,
                applied=int(moves),
                at=at,
                received_at=received_at,
            )
        )
        if moves:
            values: dict[str, Any] = {"status": status.value, "updated_at": received_at}
            if status is Status.FAILED:
                values["error_code"] = error_code
            await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
        return moves

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

    async def pending_auto_replies(self) -> list[Message]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(messages).where(messages.c.auto_reply == "pending").order_by(messages.c.created_at)
                )
            ).all()
            return [await read_message(conn, row) for row in rows]

    async def get(self, message_id: str) -> Message | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
            return None if row is None else await read_message(conn, row)

    async def list_for_contact(self, contact: str, limit: int = 100) -> list[Message]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(messages)
                    .where(messages.c.contact == contact)
                    .order_by(messages.c.created_at.desc(), messages.c.id)
                    .limit(limit)
                )
            ).all()
            return [await read_message(conn, row) for row in reversed(rows)]

    async def _require(self, message_id: str) -> Message:
        found = await self.get(message_id)
        if found is None:
            raise LookupError(f"message {message_id} vanished")
        return found
