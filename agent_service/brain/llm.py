"""An LLM as a brain: prompt, stream, guard rails, tool calls to actions. Backends only stream tokens.

Both LLM providers (`openai`, `local`) implement `ChatModel`; everything that keeps a small model
honest lives here once: the static prompt, the two-sentence cut, the figure check against the
knowledge, and the mapping of tool calls to actions (with `lookup` answered from the knowledge file).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol

from agent_service.brain.closing import may_end
from agent_service.brain.events import BrainEvent, Conversation, Lookup, TextDelta, Turn
from agent_service.brain.guard import SentenceGate, known_figures, price_bindings
from agent_service.brain.prompt import chat_messages
from agent_service.brain.receptionist import DONT_KNOW, TRANSFERRING, ReceptionistBrain
from agent_service.brain.tools import TOOLS, ToolCallError, parse_arguments, to_action

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as the model wrote it


ModelDelta = str | ToolCall


class ChatModel(Protocol):
    name: str

    def stream(
        self, messages: list[dict[str, str]], tools: list[dict[str, Any]]
    ) -> AsyncGenerator[ModelDelta, None]:
        """Stream text pieces and, at the end, complete tool calls. Raises ProviderError subclasses."""
        ...


class LlmBrain:
    def __init__(self, model: ChatModel, receptionist: ReceptionistBrain) -> None:
        self.name = model.name
        self._model = model
        self._receptionist = receptionist
        self._knowledge = receptionist.knowledge
        self._figures = known_figures(receptionist.knowledge)
        self._bindings = price_bindings(receptionist.knowledge)
        self.guard_trips = 0  # answers cut because of an unsupported figure; surfaced in logs and tests

    async def respond(self, conversation: Conversation) -> AsyncIterator[BrainEvent]:
        # The caller's own words may carry figures ("my number is 07700 900123"): repeating them is fine.
        gate = SentenceGate(
            self._figures, [t.text for t in conversation.turns if t.role == "user"], self._bindings
        )
        messages = chat_messages(self._knowledge, conversation)
        calls: list[ToolCall] = []
        said = ""  # the last sentence let through, to join the deferral to it with one space
        spoken = ""
        # aclosing: stopping early must close the backend's stream now (freeing the connection or the
        # llama.cpp slot), not whenever the garbage collector gets to it.
        async with aclosing(self._model.stream(messages, TOOLS)) as deltas:
            async for delta in deltas:
                if isinstance(delta, ToolCall):
                    calls.append(delta)
                    continue
                for sentence in gate.feed(delta):
                    said = sentence
                    spoken += sentence
                    yield TextDelta(sentence)
                if gate.done:
                    break  # two sentences said, or a bad one: stop generating, the rest is not spoken
        for sentence in gate.finish():
            said = sentence
            spoken += sentence
            yield TextDelta(sentence)
        if gate.rejected:
            self.guard_trips += 1
            log.warning("LLM_GUARD_TRIPPED model=%s unsupported=%s", self.name, sorted(gate.rejected))
            yield TextDelta(("" if not said or said[-1].isspace() else " ") + DONT_KNOW)
            return
        if TRANSFERRING in spoken and not any(call.name == "transfer_call" for call in calls):
            # Small models say the transfer sentence the prompt gives them but forget the tool call; the
            # caller was promised a person, so the promise is kept.
            calls.append(ToolCall("transfer_call", '{"reason": "the agent said it would transfer"}'))
        # Models hang up on a question now and then; only the caller's own goodbye (or a handover) ends it.
        may_end_call = may_end(conversation) or any(call.name == "transfer_call" for call in calls)
        for call in calls:
            async for event in self._carry_out(call, conversation, may_end_call):
                yield event

    async def _carry_out(
        self, call: ToolCall, conversation: Conversation, may_end_call: bool
    ) -> AsyncIterator[BrainEvent]:
        try:
            args = parse_arguments(call.name, call.arguments)
            if call.name == "end_call" and not may_end_call:
                log.warning("LLM_END_CALL_REFUSED model=%s: the caller has not said goodbye", self.name)
                return
            if call.name == "lookup":
                query = args.get("query", "") or conversation.last_user_text
                answer = self._receptionist.assess(_asking(conversation, query))
                yield Lookup(query, answer.topic)
                for event in answer.events:
                    if not isinstance(event, Lookup):
                        yield event
                return
            yield to_action(call.name, args, conversation, self._knowledge.transfer_number)
        except ToolCallError as e:
            # A model's malformed tool call is its mistake, not the caller's: log, count, carry on.
            log.warning("LLM_BAD_TOOL_CALL model=%s error=%s", self.name, e)


def _asking(conversation: Conversation, query: str) -> Conversation:
    return Conversation(
        conversation.conversation_id, (Turn("user", query),), conversation.channel, conversation.caller
    )
