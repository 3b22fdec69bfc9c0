"""What a conversation call says on its own (greeting, prompts, apology) and its turn-taking policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_service.brain.receptionist import OFFER
from agent_service.speech.turns import TurnPolicy


@dataclass(frozen=True, slots=True)
class ConversationConfig:
    greeting: str = "Hello, how can I help you?"
    no_input_ms: int = 8000
    # Bad input is asked about once, then a message or a transfer is offered (never a guess).
    no_input_prompt: str = "Are you still there?"
    no_input_offer: str = "I still can't hear you. " + OFFER
    no_input_goodbye: str = "I haven't heard anything, so I'll end the call now. Goodbye!"
    unclear_prompt: str = "Sorry, I didn't catch that. Could you say it again?"
    unclear_offer: str = "Sorry, I still didn't catch that. " + OFFER
    apology: str = "Sorry, I had a problem there. Could you say that again?"
    dtmf_timeout_ms: int = 2000
    turns: TurnPolicy = field(default_factory=TurnPolicy)
    # Transcribe at the caller's pause (turns.pause_ms) and keep it if the turn ends there.
    speculative_stt: bool = False
    # What answers turns.end_of_turn_model's question: "text" (the speculative transcript's words) or
    # "smart-turn" (the audio model); "silence" when no model is asked.
    end_of_turn: str = "silence"
    tts_cache_sentences: int = 0  # sentences kept as µ-law once said, for every call (0: none)
