"""The one interface every brain implements, shared by the Chat RPC and the voice pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from agent_service.brain.events import Action, Conversation, TextDelta


class Brain(Protocol):
    name: str

    def respond(self, conversation: Conversation) -> AsyncIterator[TextDelta | Action]:
        """Stream the answer to the conversation's last user turn: text deltas and actions, in order."""
        ...


@dataclass(frozen=True, slots=True)
class FullResponse:
    text: str
    actions: tuple[Action, ...]


async def respond_fully(brain: Brain, conversation: Conversation) -> FullResponse:
    """Collect a whole answer, for channels that send one message (Chat, WhatsApp)."""
    parts: list[str] = []
    actions: list[Action] = []
    async for event in brain.respond(conversation):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        else:
            actions.append(event)
    return FullResponse("".join(parts).strip(), tuple(actions))
