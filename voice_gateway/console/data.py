"""What the console reads: recent calls and contacts (views the stores do not offer), and the owner's
messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import desc, select
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.messages.model import OwnerMessage
from voice_gateway.storage.calls import CallLog, CallQuery, CallRecord, TurnLatency
from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.storage.schema import conversations, open_database


@dataclass(frozen=True, slots=True)
class PastCall:
    """A stored call as the history page shows it."""

    call_sid: str
    caller: str
    started_at: str
    ended_at: str | None
    outcome: str | None
    transcript: tuple[tuple[str, str], ...]
    turns: tuple[TurnLatency, ...]
    channel: str = "phone"

    @classmethod
    def of(cls, record: CallRecord) -> PastCall:
        return cls(
            record.call_sid,
            record.caller,
            record.started_at,
            record.ended_at,
            record.outcome,
            record.transcript,
            record.turns,
            record.channel,
        )

    @property
    def who(self) -> str:
        if self.channel == "browser":
            return "Browser call from the console"
        return self.caller or "Unknown caller"

    @property
    def started(self) -> str:
        try:
            return datetime.fromisoformat(self.started_at).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return self.started_at

    @property
    def duration(self) -> str:
        if self.ended_at is None:
            return "—"
        try:
            seconds = datetime.fromisoformat(self.ended_at) - datetime.fromisoformat(self.started_at)
        except ValueError:
            return "—"
        return format_duration(seconds.total_seconds())


@dataclass(frozen=True, slots=True)
class Contact:
    contact: str
    last_message_at: str


class ConsoleData:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.owner_messages = OwnerMessageStore(engine)
        self.knowledge = KnowledgeVersionStore(engine)

    @classmethod
    async def open(cls, url: str) -> ConsoleData:
        # The gateway may not have created the tables yet (ECHO mode never opens the call log).
        return cls(await open_database(url))

    async def close(self) -> None:
        await self._engine.dispose()

    async def recent_calls(self, limit: int = 50) -> list[PastCall]:
        return [PastCall.of(record) for record in await CallLog(self._engine).recent(limit)]

    async def search_calls(self, query: CallQuery) -> list[PastCall]:
        return [PastCall.of(record) for record in await CallLog(self._engine).search(query)]

    async def call(self, call_sid: str) -> PastCall | None:
        record = await CallLog(self._engine).get(call_sid)
        return PastCall.of(record) if record is not None else None

    async def messages_on_call(self, call_sid: str, limit: int = 50) -> list[OwnerMessage]:
        """The messages the agent took on this call (their conversation is the call's CallSid)."""
        return await self.owner_messages.for_conversation(call_sid, limit)

    async def contacts(self, limit: int = 100) -> list[Contact]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(conversations.c.contact, conversations.c.last_message_at)
                    .order_by(desc(conversations.c.last_message_at))
                    .limit(limit)
                )
            ).all()
        return [Contact(str(row.contact), str(row.last_message_at)) for row in rows]


def format_duration(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
