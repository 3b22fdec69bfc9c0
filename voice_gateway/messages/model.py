"""An owner message as the gateway keeps it, and the agent's TakenMessage checked on its way in.

The agent is ours, but what it hands over came from a caller's mouth: every field is bounded here and a
number keeps only what a phone number can hold, so nothing stored can grow without limit or carry
control characters into a page or a WhatsApp. A message without a usable id gets one derived from its
content, so even then a second copy stores once.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentlocator.agent.v1 import agent_pb2

log = logging.getLogger("voice_gateway.messages")

PAGE_DEFAULT = 50  # /api/messages' page size, and its bound
PAGE_MAX = 200
MAX_ID = 64
MAX_CONVERSATION_ID = 128
MAX_CALLER = 128
MAX_NAME = 200
MAX_NUMBER = 32
MAX_REASON = 4000
_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_CHANNELS = {agent_pb2.CHANNEL_VOICE: "voice", agent_pb2.CHANNEL_WHATSAPP: "whatsapp"}


class MessageStatus(enum.StrEnum):
    NEW = "new"
    HANDLED = "handled"


class NotifyState(enum.StrEnum):
    OFF = "off"  # OWNER_WHATSAPP was not set when the message arrived
    PENDING = "pending"  # not sent yet: waiting for the next attempt, or for a provider to confirm one
    SENT = "sent"  # a provider took it
    FAILED = "failed"  # given up: refused for good, too many attempts, or possibly sent and never confirmed


@dataclass(frozen=True, slots=True)
class TakenMessage:
    """What the agent handed over, bounded and checked."""

    id: str
    channel: str
    conversation_id: str
    caller: str
    name: str
    number: str
    number_is_caller_id: bool
    reason: str
    taken_at: str


@dataclass(frozen=True, slots=True)
class OwnerMessage:
    id: str
    channel: str
    conversation_id: str
    caller: str
    name: str
    number: str
    number_is_caller_id: bool
    reason: str
    taken_at: str
    created_at: str
    status: MessageStatus
    handled_at: str | None
    notify_state: NotifyState
    notify_attempts: int
    notify_next_at: str | None
    notify_error: str | None
    notify_message_id: str | None
    notified_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "number": self.number,
            "number_is_caller_id": self.number_is_caller_id,
            "reason": self.reason,
            "channel": self.channel,
            "conversation_id": self.conversation_id,
            "caller": self.caller,
            "taken_at": self.taken_at,
            "created_at": self.created_at,
            "status": self.status.value,
            "handled_at": self.handled_at,
            "notification": {
                "state": self.notify_state.value,
                "attempts": self.notify_attempts,
                "last_error": self.notify_error,
                "next_attempt_at": self.notify_next_at if self.notify_state is NotifyState.PENDING else None,
                "whatsapp_message_id": self.notify_message_id,
                "sent_at": self.notified_at,
            },
        }


def from_contract(message: agent_pb2.TakenMessage) -> TakenMessage:
    """The agent's message, checked: every text bounded and free of control characters."""
    conversation_id = _text(message.conversation_id, MAX_CONVERSATION_ID, "conversation_id")
    name = _text(message.name, MAX_NAME, "name")
    number = _text(re.sub(r"[^0-9+]", "", message.number), MAX_NUMBER, "number")
    reason = _text(message.reason, MAX_REASON, "reason")
    taken_ms = message.taken_at_ms
    if not 0 < taken_ms < 2**53:
        taken_ms = time.time_ns() // 1_000_000
    taken_at = datetime.fromtimestamp(taken_ms / 1000, UTC).isoformat(timespec="microseconds")
    message_id = message.message_id
    if not _ID.fullmatch(message_id):
        # Derived from the content, so the same message sent again still stores once.
        raw = f"{conversation_id}\0{name}\0{number}\0{reason}\0{message.taken_at_ms}"
        digest = hashlib.sha256(raw.encode())
        log.warning("OWNER_MESSAGE_ID_REPLACED conversation=%s", conversation_id)
        message_id = "derived-" + digest.hexdigest()[:40]
    return TakenMessage(
        id=message_id,
        channel=_CHANNELS.get(message.channel, "api"),
        conversation_id=conversation_id,
        caller=_text(message.caller, MAX_CALLER, "caller"),
        name=name,
        number=number,
        number_is_caller_id=message.number_is_caller_id and bool(number),
        reason=reason,
        taken_at=taken_at,
    )


def _text(value: str, limit: int, field: str) -> str:
    cleaned = _CONTROL.sub(" ", value).strip()
    if len(cleaned) > limit:
        log.warning("OWNER_MESSAGE_FIELD_CUT field=%s length=%d limit=%d", field, len(cleaned), limit)
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned
