"""Messages the agent took, on their way to the gateway: nothing taken is lost on a lost stream.

A message taken on a call goes to the gateway as `ConverseResponse.taken_message` and is kept here until
the gateway answers `MessageStored` (after its commit). Every new stream of the call (a resumed one after
a lost stream) gets each message still unacknowledged again; the gateway stores one row per message id,
so sending twice is safe and losing one is not. Bounded like the call histories: an ended call's messages
wait `keep_s` for a resume, at most `max_ended` ended calls are held, and what is written off is logged
line by line. Every message is also written to the agent's journal (AGENT_DATA_DIR) when taken.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics
from agent_service.brain.events import TakeMessage

log = logging.getLogger(__name__)

KEEP_S = 60.0  # as pipelines/conversation/resumption.py: the gateway reopens a lost stream within seconds
MAX_PER_CALL = 50
Journal = Callable[[str, TakeMessage], object]


def taken_message(
    action: TakeMessage, *, channel: int, conversation_id: str, caller: str
) -> agent_pb2.TakenMessage:
    """The message as the contract carries it, with a fresh id and the time it was taken."""
    message = agent_pb2.TakenMessage(name=action.name, number=action.number, reason=action.reason)
    message.number_is_caller_id = action.number_is_caller_id
    return completed(message, channel=channel, conversation_id=conversation_id, caller=caller)


def completed(
    message: agent_pb2.TakenMessage, *, channel: int, conversation_id: str, caller: str
) -> agent_pb2.TakenMessage:
    """`message` with whatever the brain could not know filled in: id, time, channel, where and who."""
    if not message.message_id:
        message.message_id = uuid.uuid4().hex
    if not message.taken_at_ms:
        message.taken_at_ms = time.time_ns() // 1_000_000
    if message.channel == agent_pb2.CHANNEL_UNSPECIFIED:
        message.channel = agent_pb2.Channel.ValueType(channel)
    message.conversation_id = message.conversation_id or conversation_id
    message.caller = message.caller or caller
    return message


@dataclass(slots=True)
class _Held:
    messages: OrderedDict[str, agent_pb2.TakenMessage] = field(default_factory=OrderedDict)
    streams: int = 0  # streams of the call open now
    ended_at: float | None = None


class UnackedMessages:
    def __init__(
        self,
        *,
        max_ended: int,
        keep_s: float = KEEP_S,
        journal: Journal | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_ended = max_ended
        self._keep_s = keep_s
        self._journal = journal
        self._clock = clock
        self._held: OrderedDict[str, _Held] = OrderedDict()

    def opened(self, call_sid: str) -> list[agent_pb2.TakenMessage]:
        """A stream of the call opened: the messages it must send again (none for a new call)."""
        self._forget_old()
        held = self._held.get(call_sid)
        if held is None:
            return []
        held.streams += 1
        held.ended_at = None
        if held.messages:
            log.info("MESSAGES_RESENT call=%s count=%d", call_sid, len(held.messages))
        return list(held.messages.values())

    def taken(self, call_sid: str, message: agent_pb2.TakenMessage) -> None:
        held = self._held.setdefault(call_sid, _Held(streams=1))
        held.messages[message.message_id] = message
        metrics.MESSAGES_TAKEN.labels("voice").inc()
        log.info(
            "MESSAGE_TAKEN id=%s call=%s caller_id_number=%s",
            message.message_id,
            call_sid,
            str(message.number_is_caller_id).lower(),
        )
        if self._journal is not None:
            action = TakeMessage(message.name, message.number, message.reason, message.number_is_caller_id)
            self._journal(call_sid, action)
        while len(held.messages) > MAX_PER_CALL:  # a hostile brain cannot grow this without bound
            _, dropped = held.messages.popitem(last=False)
            self._write_off(call_sid, dropped, "too many unacknowledged messages on one call")

    def stored(self, call_sid: str, message_id: str) -> bool:
        """The gateway committed `message_id`; False when it was not (or no longer) held."""
        held = self._held.get(call_sid)
        if held is None or held.messages.pop(message_id, None) is None:
            log.info("MESSAGE_STORED_UNKNOWN id=%.64s call=%s", message_id, call_sid)
            return False
        metrics.MESSAGES_ACKNOWLEDGED.inc()
        log.info("MESSAGE_STORED id=%s call=%s", message_id, call_sid)
        return True

    def closed(self, call_sid: str) -> None:
        """A stream of the call ended; with no other open, the call's messages wait `keep_s` for a resume."""
        held = self._held.get(call_sid)
        if held is None:
            return
        held.streams = max(0, held.streams - 1)
        if held.streams == 0:
            held.ended_at = self._clock()
            self._held.move_to_end(call_sid)
        self._forget_old()

    def pending(self, call_sid: str) -> list[str]:
        held = self._held.get(call_sid)
        return list(held.messages) if held else []

    def _forget_old(self) -> None:
        now = self._clock()
        ended = [sid for sid, held in self._held.items() if held.ended_at is not None]
        recent = [sid for sid in ended if now - (self._held[sid].ended_at or now) < self._keep_s]
        kept = set(recent[max(0, len(recent) - self._max_ended) :])
        for sid in ended:
            if sid not in kept:
                for message in self._held.pop(sid).messages.values():
                    self._write_off(sid, message, "the call ended and no stream acknowledged it")

    def _write_off(self, call_sid: str, message: agent_pb2.TakenMessage, why: str) -> None:
        metrics.MESSAGES_UNACKNOWLEDGED.inc()
        log.error(
            "MESSAGE_UNACKNOWLEDGED id=%s call=%s: %s; it is in the agent's journal",
            message.message_id,
            call_sid,
            why,
        )
