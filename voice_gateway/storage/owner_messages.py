"""The owner_messages table: messages the agent took, their status, and their WhatsApp to the owner.

`add` inserts once per message id (a copy sent again finds the first and changes nothing). The owner's
notification is claimed attempt by attempt with a conditional update, so two gateways sharing one
database never both make the same attempt: only the one whose update moved the attempt counter sends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.messages.model import MessageStatus, NotifyState, OwnerMessage, TakenMessage
from voice_gateway.storage.database import now_iso
from voice_gateway.storage.schema import owner_messages

Cursor = tuple[str, str]  # (created_at, id) of the last message of the page before


class OwnerMessageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def add(self, taken: TakenMessage, notify: bool) -> tuple[OwnerMessage, bool]:
        """Store `taken` (committed when this returns); True when it is new, False when it was there."""
        at = now_iso()
        state = NotifyState.PENDING if notify else NotifyState.OFF
        async with self._engine.begin() as conn:
            inserted = await conn.execute(
                self._insert(owner_messages)
                .values(
                    id=taken.id,
                    channel=taken.channel,
                    conversation_id=taken.conversation_id,
                    caller=taken.caller,
                    name=taken.name,
                    number=taken.number,
                    number_is_caller_id=int(taken.number_is_caller_id),
                    reason=taken.reason,
                    taken_at=taken.taken_at,
                    created_at=at,
                    status=MessageStatus.NEW.value,
                    notify_state=state.value,
                    notify_attempts=0,
                    notify_next_at=at if notify else None,
                )
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(owner_messages.c.id)
            )
            created = inserted.first() is not None
        stored = await self.get(taken.id)
        assert stored is not None
        return stored, created

    async def get(self, message_id: str) -> OwnerMessage | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(owner_messages).where(owner_messages.c.id == message_id))
            ).first()
        return None if row is None else _message(row)

    async def page(
        self, status: MessageStatus | None, limit: int, before: Cursor | None = None
    ) -> list[OwnerMessage]:
        """Newest first; `before` continues after the last message of the previous page."""
        query = select(owner_messages)
        if status is not None:
            query = query.where(owner_messages.c.status == status.value)
        if before is not None:
            created_at, message_id = before
            query = query.where(
                or_(
                    owner_messages.c.created_at < created_at,
                    and_(owner_messages.c.created_at == created_at, owner_messages.c.id < message_id),
                )
            )
        query = query.order_by(owner_messages.c.created_at.desc(), owner_messages.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_message(row) for row in (await conn.execute(query)).all()]

    async def for_conversation(self, conversation_id: str, limit: int) -> list[OwnerMessage]:
        """The messages taken on one call or chat, oldest first."""
        query = (
            select(owner_messages)
            .where(owner_messages.c.conversation_id == conversation_id)
            .order_by(owner_messages.c.created_at, owner_messages.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_message(row) for row in (await conn.execute(query)).all()]

    async def set_status(self, message_id: str, status: MessageStatus) -> OwnerMessage | None:
        handled_at = now_iso() if status is MessageStatus.HANDLED else None
        async with self._engine.begin() as conn:
            await conn.execute(
                update(owner_messages)
                .where(owner_messages.c.id == message_id, owner_messages.c.status != status.value)
                .values(status=status.value, handled_at=handled_at)
            )
        return await self.get(message_id)

    async def due(self, now: str, limit: int) -> list[OwnerMessage]:
        """Pending notifications whose next attempt is due, the longest waiting first."""
        query = (
            select(owner_messages)
            .where(
                owner_messages.c.notify_state == NotifyState.PENDING.value,
                owner_messages.c.notify_next_at <= now,
            )
            .order_by(owner_messages.c.notify_next_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_message(row) for row in (await conn.execute(query)).all()]

    async def next_due_at(self) -> str | None:
        query = select(func.min(owner_messages.c.notify_next_at)).where(
            owner_messages.c.notify_state == NotifyState.PENDING.value
        )
        async with self._engine.connect() as conn:
            found = await conn.scalar(query)
        return None if found is None else str(found)

    async def claim(self, message_id: str, attempt: int, whatsapp_id: str, lease_until: str) -> bool:
        """Take attempt number `attempt` (the one after notify_attempts) for this process; False when
        another got there first. Until `lease_until` nobody else looks at the message."""
        return await self._change(
            message_id,
            attempt - 1,
            notify_attempts=attempt,
            notify_message_id=whatsapp_id,
            notify_next_at=lease_until,
        )

    async def wait(self, message_id: str, attempts: int, next_at: str, error: str | None) -> bool:
        """Still pending: look again at `next_at`, with `error` (None: keep the last one) to show."""
        values: dict[str, Any] = {"notify_next_at": next_at}
        if error is not None:
            values["notify_error"] = error[:500]
        return await self._change(message_id, attempts, **values)

    async def sent(self, message_id: str, attempts: int, whatsapp_id: str, at: str) -> bool:
        return await self._change(
            message_id,
            attempts,
            notify_state=NotifyState.SENT.value,
            notify_message_id=whatsapp_id,
            notified_at=at,
            notify_next_at=None,
        )

    async def give_up(self, message_id: str, attempts: int, error: str) -> bool:
        return await self._change(
            message_id,
            attempts,
            notify_state=NotifyState.FAILED.value,
            notify_error=error[:500],
            notify_next_at=None,
        )

    async def _change(self, message_id: str, attempts: int, **values: Any) -> bool:
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                update(owner_messages)
                .where(
                    owner_messages.c.id == message_id,
                    owner_messages.c.notify_state == NotifyState.PENDING.value,
                    owner_messages.c.notify_attempts == attempts,
                )
                .values(**values)
            )
        return bool(changed.rowcount)


def _message(row: Row[Any]) -> OwnerMessage:
    return OwnerMessage(
        id=row.id,
        channel=row.channel,
        conversation_id=row.conversation_id,
        caller=row.caller,
        name=row.name,
        number=row.number,
        number_is_caller_id=bool(row.number_is_caller_id),
        reason=row.reason,
        taken_at=row.taken_at,
        created_at=row.created_at,
        status=MessageStatus(row.status),
        handled_at=row.handled_at,
        notify_state=NotifyState(row.notify_state),
        notify_attempts=int(row.notify_attempts),
        notify_next_at=row.notify_next_at,
        notify_error=row.notify_error,
        notify_message_id=row.notify_message_id,
        notified_at=row.notified_at,
    )
