"""What every write of the store shares: the dialect's upsert, the conversation row, event
de-duplication, and applying one status report to a message (only ever forward)."""

from __future__ import annotations

import enum
from typing import Any, Self

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage.database import now_iso
from voice_gateway.storage.message_rows import MessageReader
from voice_gateway.storage.schema import conversations, messages, open_database, status_events, webhook_events
from voice_gateway.whatsapp.model import Status, advances


class StatusOutcome(enum.StrEnum):
    APPLIED = "applied"  # the message moved forward
    KEPT = "kept"  # recorded in the history; an older or equal status does not move the message
    ORPHANED = "orphaned"  # no message has this provider id yet; kept and applied once one does
    DUPLICATE = "duplicate"  # this event id was stored before; nothing changed


class StoreBase(MessageReader):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._dialect = engine.dialect.name

    @classmethod
    async def open(cls, url: str) -> Self:
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
