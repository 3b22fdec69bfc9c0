"""The call registry's database writes: in the background, in order, complete when the call is closed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from voice_gateway.calls.registry import CallRegistry
from voice_gateway.storage.calls import CallLog


class SlowCallLog(CallLog):
    """A CallLog whose first write waits for a gate, as a busy database would."""

    gate: asyncio.Event

    async def started(self, call_sid: str, stream_sid: str, caller: str, channel: str = "phone") -> None:
        await self.gate.wait()
        await super().started(call_sid, stream_sid, caller, channel)


async def test_a_slow_database_never_holds_up_the_call_and_the_record_keeps_its_order(tmp_path: Path) -> None:
    log = await SlowCallLog.open(f"sqlite:///{tmp_path}/calls.db")
    assert isinstance(log, SlowCallLog)
    log.gate = asyncio.Event()
    registry = CallRegistry(log)
    # None of these wait for the database, which has not even stored the call yet.
    registry.started("CA1", "MZ1", "+15005550006")
    registry.transcript("CA1", "agent", "Hello, how can I help?", is_final=True)
    registry.transcript("CA1", "user", "When are you open?", is_final=True)
    registry.turn_latency("CA1", {"endpointing": 500, "stt": 200, "llm": 1, "tts": 90, "total": 791})
    assert await log.get("CA1") is None
    closing = asyncio.ensure_future(registry.closed("CA1", "completed"))
    await asyncio.sleep(0)
    assert not closing.done()  # closing waits for the call's record to be complete
    log.gate.set()
    await closing
    record = await log.get("CA1")
    assert record is not None and record.outcome == "completed"
    assert record.transcript == (("agent", "Hello, how can I help?"), ("user", "When are you open?"))
    assert record.turns == ({"endpointing": 500, "stt": 200, "llm": 1, "tts": 90, "total": 791},)
    await log.close()
