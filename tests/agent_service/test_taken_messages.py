"""A message taken on a call reaches the gateway complete and is kept until the gateway says it is stored:
a lost stream's unacknowledged messages go again on the resumed stream, acknowledged ones never do."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.events import Action, Conversation, TakeMessage, TextDelta
from agent_service.taken_messages import UnackedMessages
from tests.agent_service.client import agent_stub, dtmf, hangup, read_to_end, read_until, start_call
from tests.speech.inprocess_agent import conversation_agent

CALLER = "+15005550006"


class MessageBrain:
    """Takes a message on every turn (the receptionist's flow is tested in tests/brain)."""

    name = "message"

    async def respond(self, conversation: Conversation) -> AsyncIterator[TextDelta | Action]:
        yield TakeMessage("Jo Bloggs", "07700900123", f"about {conversation.last_user_text}")
        yield TextDelta("I've passed your message on.")


def stored(message_id: str) -> Any:
    return agent_pb2.ConverseRequest(message_stored=agent_pb2.MessageStored(message_id=message_id))


async def test_a_taken_message_is_sent_again_on_the_resumed_stream_until_it_is_acknowledged(
    tmp_path: Path,
) -> None:
    async with conversation_agent(tmp_path, MessageBrain()) as port, agent_stub(port) as stub:
        first = await start_call(stub, "CA-msg", from_number=CALLER)
        await first.write(dtmf("1"))
        await first.write(dtmf("#"))
        taken, _ = await read_until(first, "taken_message")
        message = taken.taken_message
        first.cancel()  # lost before the gateway acknowledged it

        second = await start_call(stub, "CA-msg", from_number=CALLER, resumed=True)
        again, before = await read_until(second, "taken_message")
        assert before == []  # first thing after SessionAccepted
        assert again.taken_message == message
        await second.write(stored(message.message_id))
        await second.write(dtmf("2"))
        await second.write(dtmf("#"))
        newer, _ = await read_until(second, "taken_message")
        second.cancel()  # the second message is not acknowledged: only it goes again

        third = await start_call(stub, "CA-msg", from_number=CALLER, resumed=True)
        await third.write(hangup())
        await third.done_writing()
        rest = await read_to_end(third)

    assert (message.name, message.number, message.reason) == ("Jo Bloggs", "07700900123", "about 1")
    assert len(message.message_id) == 32 and message.taken_at_ms > 1_700_000_000_000
    assert (message.channel, message.conversation_id, message.caller) == (
        agent_pb2.CHANNEL_VOICE,
        "CA-msg",
        CALLER,
    )
    assert newer.taken_message.message_id != message.message_id
    resent = [r.taken_message.message_id for r in rest if r.WhichOneof("event") == "taken_message"]
    assert resent == [newer.taken_message.message_id]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def message(message_id: str) -> agent_pb2.TakenMessage:
    return agent_pb2.TakenMessage(message_id=message_id, name="Jo", number="07700900123", reason="x")


def test_an_ended_calls_unacknowledged_messages_wait_for_a_resume_then_are_written_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    journal: list[tuple[str, TakeMessage]] = []
    unacked = UnackedMessages(
        max_ended=10, keep_s=60, clock=clock, journal=lambda c, m: journal.append((c, m))
    )
    unacked.taken("CA1", message("m1"))
    unacked.taken("CA1", message("m2"))
    assert unacked.stored("CA1", "m1") and not unacked.stored("CA1", "m1")
    unacked.closed("CA1")
    clock.now = 59.0
    assert [m.message_id for m in unacked.opened("CA1")] == ["m2"]  # a resume within the minute
    unacked.closed("CA1")
    clock.now = 59.0 + 60.0
    with caplog.at_level(logging.ERROR):
        assert unacked.opened("CA1") == []
    assert "MESSAGE_UNACKNOWLEDGED id=m2 call=CA1" in caplog.text
    assert [c for c, _ in journal] == ["CA1", "CA1"]  # every taken message is in the agent's journal


def test_only_the_most_recently_ended_calls_are_held(caplog: pytest.LogCaptureFixture) -> None:
    unacked = UnackedMessages(max_ended=2, keep_s=60, clock=Clock())
    for sid in ("CA1", "CA2", "CA3"):
        unacked.taken(sid, message(f"m-{sid}"))
        unacked.closed(sid)
    unacked.taken("CA4", message("m-CA4"))  # a live call is never dropped for space
    assert (unacked.pending("CA1"), unacked.pending("CA4")) == ([], ["m-CA4"])
    assert "MESSAGE_UNACKNOWLEDGED id=m-CA1 call=CA1" in caplog.text
