"""Layering: the receptionist engine answers what it is sure of; the LLM gets the rest; if the LLM fails,
even mid-answer, the receptionist finishes the turn (its honest deferral at worst), so a provider outage
never leaves a caller in silence.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from agent_service.brain.base import Brain
from agent_service.brain.events import BrainEvent, Conversation, TextDelta
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.errors import ProviderError

log = logging.getLogger(__name__)


class HybridBrain:
    def __init__(
        self, receptionist: ReceptionistBrain, llm: Brain, *, prefer_receptionist: bool = True
    ) -> None:
        self.name = f"{llm.name}+receptionist"
        self._receptionist = receptionist
        self._llm = llm
        self._prefer_receptionist = prefer_receptionist
        self.fallbacks = 0

    async def respond(self, conversation: Conversation) -> AsyncIterator[BrainEvent]:
        assessment = self._receptionist.assess(conversation)
        if assessment.confident and self._prefer_receptionist:
            for event in assessment.events:
                yield event
            return
        said = ""
        try:
            async for event in self._llm.respond(conversation):
                if isinstance(event, TextDelta):
                    said = event.text
                yield event
        except ProviderError as e:
            self.fallbacks += 1
            log.warning(
                "LLM_FALLBACK brain=%s retryable=%s mid_answer=%s error=%s",
                self._llm.name,
                e.retryable,
                bool(said),
                e.message,
            )
            events = assessment.events if assessment.confident else self._receptionist.deferral()
            for event in events:
                if said and not said[-1].isspace() and isinstance(event, TextDelta):
                    yield TextDelta(" " + event.text)
                    said = " "
                else:
                    yield event
