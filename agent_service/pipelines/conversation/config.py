"""What a conversation call says on its own (greeting, prompts, apology) and its turn-taking policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_service.speech.turns import TurnPolicy


@dataclass(frozen=True, slots=True)
class ConversationConfig:
    greeting: str = "Hello, how can I help you?"
    no_input_ms: int = 8000
    no_input_prompt: str = "Are you still there?"
    no_input_goodbye: str = "I haven't heard anything, so I'll end the call now. Goodbye!"
    apology: str = "Sorry, I had a problem there. Could you say that again?"
    dtmf_timeout_ms: int = 2000
    turns: TurnPolicy = field(default_factory=TurnPolicy)
