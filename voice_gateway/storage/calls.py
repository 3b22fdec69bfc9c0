"""Phone calls and their transcripts, in the same database as the WhatsApp messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, desc, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.storage.database import now_iso
from voice_gateway.storage.schema import call_transcripts, call_turns, calls, open_database

# One turn's latency stages in ms, keyed "endpointing", "stt", "llm", "tts" and "total".
TurnLatency = dict[str, int]
STAGES = ("endpointing", "stt", "llm", "tts", "total")


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_sid: str
    stream_sid: str
    caller: str
    started_at: str
    ended_at: str | None
    outcome: str | None
    transcript: tuple[tuple[str, str], ...]  # (role, text), in the order spoken
    turns: tuple[TurnLatency, ...] = ()  # in the order taken
    channel: str = "phone"  # or "browser": the console's "Talk to your agent"


@dataclass(frozen=True, slots=True)
class CallQuery:
    """The console's call search: every part optional; `started_from`/`started_before` are ISO UTC text
    bounds on `started_at` (the stored form sorts as text), `number` a run of digits found in the caller."""

    number: str = ""
    started_from: str = ""
    started_before: str = ""
    offset: int = 0
    limit: int = 50


class CallLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str) -> CallLog:
        return cls(await open_database(url))

    async def close(self) -> None:
        await self._engine.dispose()

    async def started(self, call_sid: str, stream_sid: str, caller: str, channel: str = "phone") -> None:
        async with self._engine.begin() as conn:
            existing = await conn.scalar(select(calls.c.call_sid).where(calls.c.call_sid == call_sid))
            if existing is None:  # a resumed agent stream is still the same call
                await conn.execute(
                    insert(calls).values(
                        call_sid=call_sid,
                        stream_sid=stream_sid,
                        caller=caller,
                        started_at=now_iso(),
                        channel=channel,
                    )
                )

    async def said(self, call_sid: str, role: str, text: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(call_transcripts).values(call_sid=call_sid, role=role, text=text, at=now_iso())
            )

    async def turn(self, call_sid: str, stages: TurnLatency) -> None:
        values = {f"{stage}_ms": max(0, int(stages.get(stage, 0))) for stage in STAGES}
        async with self._engine.begin() as conn:
            await conn.execute(insert(call_turns).values(call_sid=call_sid, at=now_iso(), **values))

    async def ended(self, call_sid: str, outcome: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(calls)
                .where(calls.c.call_sid == call_sid, calls.c.ended_at.is_(None))
                .values(ended_at=now_iso(), outcome=outcome)
            )

    async def get(self, call_sid: str) -> CallRecord | None:
        records = await self._records(select(calls).where(calls.c.call_sid == call_sid))
        return records[0] if records else None

    async def recent(self, limit: int = 50) -> list[CallRecord]:
        """The latest calls first, each with its transcript."""
        return await self._records(select(calls).order_by(desc(calls.c.started_at)).limit(limit))

    async def search(self, query: CallQuery) -> list[CallRecord]:
        """Newest first; `limit + 1` rows are asked for by callers that want to know if a next page exists."""
        found = select(calls)
        if query.number:
            # Stored callers are +E.164; "%" and "_" cannot reach here (the console lets only digits through).
            found = found.where(calls.c.caller.contains(query.number, autoescape=True))
        if query.started_from:
            found = found.where(calls.c.started_at >= query.started_from)
        if query.started_before:
            found = found.where(calls.c.started_at < query.started_before)
        ordered = found.order_by(desc(calls.c.started_at), desc(calls.c.call_sid))
        return await self._records(ordered.offset(query.offset).limit(query.limit))

    async def _records(self, query: Select[Any]) -> list[CallRecord]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            sids = [row.call_sid for row in rows]
            lines = await conn.execute(
                select(call_transcripts.c.call_sid, call_transcripts.c.role, call_transcripts.c.text)
                .where(call_transcripts.c.call_sid.in_(sids))
                .order_by(call_transcripts.c.id)
            )
            spoken: dict[str, list[tuple[str, str]]] = {sid: [] for sid in sids}
            for sid, role, text in lines:
                spoken[str(sid)].append((str(role), str(text)))
            measured = await conn.execute(
                select(call_turns).where(call_turns.c.call_sid.in_(sids)).order_by(call_turns.c.id)
            )
            turns: dict[str, list[TurnLatency]] = {sid: [] for sid in sids}
            for turn in measured:
                stages = {stage: int(getattr(turn, f"{stage}_ms")) for stage in STAGES}
                turns[str(turn.call_sid)].append(stages)
        return [
            CallRecord(
                row.call_sid,
                row.stream_sid,
                row.caller,
                row.started_at,
                row.ended_at,
                row.outcome,
                tuple(spoken[row.call_sid]),
                tuple(turns[row.call_sid]),
                row.channel,
            )
            for row in rows
        ]
