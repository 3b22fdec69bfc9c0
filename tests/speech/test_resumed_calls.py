"""SessionStart.resumed: a call whose stream was lost is not greeted again, and carries on with its
conversation when the same agent process still holds it (bounded by count and by time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.events import Turn
from agent_service.pipelines.conversation.resumption import CallHistories
from tests.agent_service.client import agent_stub, dtmf, hangup, read_to_end, read_until, start_call
from tests.speech.inprocess_agent import GREETING, RecordingBrain, conversation_agent


async def test_a_resumed_call_is_not_greeted_again_and_the_brain_sees_the_whole_call(tmp_path: Path) -> None:
    brain = RecordingBrain()
    async with conversation_agent(tmp_path, brain) as port, agent_stub(port) as stub:
        first = await start_call(stub, "CA-resume")
        await read_until(first, "audio_out")  # the greeting
        await first.write(dtmf("1"))
        await first.write(dtmf("#"))
        await read_until(first, "metrics")  # the answer to "1" is sent and in the history
        first.cancel()  # the stream is lost; the gateway reopens it marked resumed

        second = await start_call(stub, "CA-resume", resumed=True)
        await second.write(dtmf("2"))
        await second.write(dtmf("#"))
        heard_before_reply = await agent_words_until(second, "Noted.")
        await second.write(hangup())
        await second.done_writing()
        await read_to_end(second)

    assert heard_before_reply == []  # no second greeting
    assert brain.conversations[-1].turns == (
        Turn("agent", GREETING),
        Turn("user", "1"),
        Turn("agent", "Noted."),
        Turn("user", "2"),
    )


async def test_a_call_that_is_not_resumed_starts_afresh_even_with_a_known_call_sid(tmp_path: Path) -> None:
    brain = RecordingBrain()
    async with conversation_agent(tmp_path, brain) as port, agent_stub(port) as stub:
        for digit in ("1", "2"):
            call = await start_call(stub, "CA-again")
            await read_until(call, "audio_out")  # greeted each time
            await call.write(dtmf(digit))
            await call.write(dtmf("#"))
            await read_until(call, "metrics")
            await call.write(hangup())
            await call.done_writing()
            await read_to_end(call)
    assert brain.conversations[-1].turns == (Turn("agent", GREETING), Turn("user", "2"))


async def agent_words_until(call: Any, text: str) -> list[str]:
    """Read until the agent sends `text`; return what else it said (and its audio) before that."""
    said: list[str] = []
    while True:
        response = await call.read()
        assert response is not grpc.aio.EOF, f"the stream ended before the agent said {text!r}"
        if response.HasField("transcript") and response.transcript.role == agent_pb2.ROLE_AGENT:
            if response.transcript.text == text:
                return said
            said.append(response.transcript.text)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_ended_calls_history_is_kept_for_a_while_then_forgotten() -> None:
    clock = FakeClock()
    histories = CallHistories(max_ended=10, keep_s=60, clock=clock)
    history = histories.open("CA1", resumed=False)
    history.add_user("hello")
    histories.close("CA1", history)
    clock.now = 59.0
    assert list(histories.open("CA1", resumed=True)) == [Turn("user", "hello")]
    histories.close("CA1", histories.open("CA1", resumed=True))
    clock.now = 59.0 + 60.0
    assert list(histories.open("CA1", resumed=True)) == []  # a minute after the last stream ended


def test_only_the_most_recently_ended_calls_are_kept() -> None:
    histories = CallHistories(max_ended=2, keep_s=60, clock=FakeClock())
    for sid in ("CA1", "CA2", "CA3"):
        history = histories.open(sid, resumed=False)
        history.add_user(sid)
        histories.close(sid, history)
    live = histories.open("CA4", resumed=False)  # a live call is never dropped for space
    assert ("CA1" in histories, "CA2" in histories, "CA3" in histories, "CA4" in histories) == (
        False,
        True,
        True,
        True,
    )
    histories.close("CA4", live)
    assert len(histories) == 2 and "CA2" not in histories


def test_a_late_end_of_the_lost_stream_does_not_overwrite_the_resumed_one() -> None:
    clock = FakeClock()
    histories = CallHistories(max_ended=10, keep_s=60, clock=clock)
    lost = histories.open("CA1", resumed=False)
    lost.add_user("one")
    resumed = histories.open("CA1", resumed=True)  # the new stream arrived before the old one ended
    resumed.add_user("two")
    histories.close("CA1", lost)
    clock.now = 120.0
    assert "CA1" in histories  # still the resumed stream's, and it is live
    histories.close("CA1", resumed)
    assert list(histories.open("CA1", resumed=True)) == [Turn("user", "one two")]
