"""Talk to the booking dialogue turn by turn, as the Chat RPC and the voice pipeline do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from agent_service.brain.base import Brain, respond_fully
from agent_service.brain.events import Action, Conversation, Turn


@dataclass
class Dialogue:
    brain: Brain
    caller: str = "+447700900123"
    channel: Literal["voice", "whatsapp", "text"] = "whatsapp"
    conversation_id: str = "chat-1"
    turns: list[Turn] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    async def say(self, text: str) -> str:
        self.turns.append(Turn("user", text))
        conversation = Conversation(self.conversation_id, tuple(self.turns), self.channel, self.caller)
        answer = await respond_fully(self.brain, conversation)
        self.turns.append(Turn("agent", answer.text))
        self.actions.extend(answer.actions)
        return answer.text


class Clock:
    """The agent's `now`, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def __call__(self) -> datetime:
        return self.at
