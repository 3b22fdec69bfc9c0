"""What a brain is given (a Conversation) and what it streams back (text deltas and actions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "agent"]
    text: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """One conversation so far, oldest turn first; the last turn is the user's, the one to answer."""

    conversation_id: str
    turns: tuple[Turn, ...]
    channel: Literal["voice", "whatsapp", "text"] = "text"
    caller: str = ""  # E.164 number or WhatsApp id, when known

    @property
    def last_user_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    @property
    def last_agent_text(self) -> str:
        """What the agent said just before the user's latest turn ("" at the start)."""
        for turn in reversed(self.turns[:-1]):
            if turn.role == "agent":
                return turn.text
        return ""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the spoken/written answer; concatenated deltas make the whole answer."""

    text: str


@dataclass(frozen=True, slots=True)
class EndCall:
    reason: str


@dataclass(frozen=True, slots=True)
class TransferCall:
    number: str  # E.164
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SendWhatsApp:
    to: str  # the caller's number or WhatsApp id; "" means "whoever this conversation is with"
    text: str


@dataclass(frozen=True, slots=True)
class TakeMessage:
    name: str
    number: str  # as the caller gave it, or the caller ID; "" when neither (never invented)
    reason: str
    number_is_caller_id: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    """The brain consulted the knowledge file; done by the brain itself, surfaced for logs and tests."""

    query: str
    topic: str


Action = EndCall | TransferCall | SendWhatsApp | TakeMessage | Lookup
BrainEvent = TextDelta | Action
