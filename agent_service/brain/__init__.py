"""The agent's brain: one interface (`Brain.respond`) behind the Chat RPC and the voice pipeline.

`build_brain` (registry.py) picks the implementation by LLM_PROVIDER: the grounded `receptionist` engine,
a `local` llama.cpp model or any `openai`-compatible server, the LLMs layered behind the receptionist.
"""

from __future__ import annotations

from agent_service.brain.base import Brain, respond_fully
from agent_service.brain.events import (
    Action,
    BrainEvent,
    Conversation,
    EndCall,
    Lookup,
    SendWhatsApp,
    TakeMessage,
    TextDelta,
    TransferCall,
    Turn,
)

__all__ = [
    "Action",
    "Brain",
    "BrainEvent",
    "Conversation",
    "EndCall",
    "Lookup",
    "SendWhatsApp",
    "TakeMessage",
    "TextDelta",
    "TransferCall",
    "Turn",
    "respond_fully",
]
