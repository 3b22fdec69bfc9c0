"""A stored WhatsApp message read back: its row and its status history, as the one message model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.storage.schema import status_events
from voice_gateway.whatsapp.model import Direction, Message, Status, StatusEvent


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
