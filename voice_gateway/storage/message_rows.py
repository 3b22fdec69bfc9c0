"""Stored WhatsApp messages read back: a row and its status history, as the one message model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage.schema import messages, status_events
from voice_gateway.whatsapp.model import Direction, Message, Status, StatusEvent


class MessageReader:
    """The read side of `Store`: every query that changes nothing."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

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

    async def pending_auto_replies(self) -> list[Message]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(messages).where(messages.c.auto_reply == "pending").order_by(messages.c.created_at)
                )
            ).all()
            return [await read_message(conn, row) for row in rows]

    async def unresolved_sends(self, created_before: str, limit: int = 100) -> list[Message]:
        """Outbound messages no provider has confirmed taking (queued, no provider id), oldest first."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(messages)
                    .where(
                        messages.c.status == Status.QUEUED.value,
                        messages.c.created_at < created_before,
                        messages.c.direction == Direction.OUTBOUND.value,
                        messages.c.provider_id.is_(None),
                    )
                    .order_by(messages.c.created_at)
                    .limit(limit)
                )
            ).all()
            return [await read_message(conn, row) for row in rows]

    async def _require(self, message_id: str) -> Message:
        found = await self.get(message_id)
        if found is None:
            raise LookupError(f"message {message_id} vanished")
        return found


async def read_message(conn: AsyncConnection, row: Row[Any]) -> Message:
    events: Sequence[Row[Any]] = (
        await conn.execute(
            select(status_events)
            .where(status_events.c.message_id == row.id)
            .order_by(status_events.c.received_at, status_events.c.id)
        )
    ).all()
    return Message(
        id=row.id,
        contact=row.contact,
        direction=Direction(row.direction),
        provider=WhatsAppProvider(row.provider),
        provider_id=row.provider_id,
        status=Status(row.status),
        text=row.text,
        media=json.loads(row.media) if row.media else None,
        error_code=row.error_code,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
        history=tuple(
            StatusEvent(Status(e.status), e.raw_status, e.at, e.error_code, e.provider, bool(e.applied))
            for e in events
        ),
    )
