"""An LLM as a brain: prompt, stream, guard rails and tools. Backends only stream tokens.

Both LLM providers (`openai`, `local`) implement `ChatModel`; everything that keeps a small model
honest lives here once: the static prompt, the two-sentence cut, the figure check against the
knowledge, and the tool loop. The model's tool calls are validated and carried out by the registry
(tool_registry.py); their results go back to the model as tool messages and it carries on, for at most
`max_rounds` requests per turn. Text is spoken as it streams, also the text before a tool call.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, Protocol

from agent_service.brain.closing import ANYTHING_ELSE
from agent_service.brain.events import BrainEvent, Conversation, TextDelta
from agent_service.brain.guard import SentenceGate, known_figures, price_bindings
from agent_service.brain.prompt import chat_messages
from agent_service.brain.receptionist import DONT_KNOW, OFFER, TRANSFERRING, ReceptionistBrain
from agent_service.brain.tool_calls import MAX_CALLS_PER_ANSWER, in_order, needs_another_round, round_messages
from agent_service.brain.tool_registry import ToolCall, ToolContext, ToolOutcome, ToolRegistry
from agent_service.brain.tools import call_tools
from agent_service.errors import ProviderError
from agent_service.metrics import LLM_TOOL_ROUND_LIMITS

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 3
ROUND_LIMIT = "I'm sorry, I couldn't get that done just now. " + OFFER
DONE = "That's done. " + ANYTHING_ELSE

ModelDelta = str | ToolCall


class ChatModel(Protocol):
    name: str

    def stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> AsyncGenerator[ModelDelta, None]:
        """Stream text pieces and, at the end, complete tool calls. Raises ProviderError subclasses."""
        ...


class LlmBrain:
    def __init__(
        self,
        model: ChatModel,
        receptionist: ReceptionistBrain,
        tools: ToolRegistry | None = None,
        *,
        max_rounds: int = MAX_TOOL_ROUNDS,
    ) -> None:
        self.name = model.name
        self._model = model
        self._receptionist = receptionist
        self._knowledge = receptionist.knowledge
        self._tools = tools if tools is not None else ToolRegistry(call_tools(receptionist.knowledge))
        self._max_rounds = max_rounds
        self._figures = known_figures(receptionist.knowledge)
        self._bindings = price_bindings(receptionist.knowledge)
        self.guard_trips = 0  # answers cut because of an unsupported figure; surfaced in logs and tests

    async def respond(self, conversation: Conversation) -> AsyncIterator[BrainEvent]:
        context = ToolContext(conversation, self._receptionist.assess)
        # Figures the model may repeat besides the knowledge's: the caller's own ("my number is 07700
        # 900123") and what the tools told it (the caller ID, to read back).
        trusted = [t.text for t in conversation.turns if t.role == "user"]
        messages: list[dict[str, Any]] = [*chat_messages(self._knowledge, conversation)]
        outcomes: list[ToolOutcome] = []
        for round_no in range(1, self._max_rounds + 1):
            gate = SentenceGate(self._figures, trusted, self._bindings)
            calls: list[ToolCall] = []
            said = ""
            try:
                async with aclosing(self._answer(messages, gate, context, calls)) as pieces:
                    async for piece in pieces:
                        said += piece.text
                        yield piece
            except ProviderError as e:
                if round_no == 1 or not all(outcome.ok for outcome in outcomes):
                    raise  # the hybrid brain's fallback answers for it
                # What the tools did is done; the fallback's deferral ("I can take a message...") would
                # contradict it. The turn ends as if the model had confirmed.
                log.warning("LLM_TOOL_FOLLOW_UP_FAILED model=%s error=%s", self.name, e.message)
                yield _say(context, ANYTHING_ELSE if said.strip() else DONE)
                return
            if gate.rejected:
                self.guard_trips += 1
                log.warning("LLM_GUARD_TRIPPED model=%s unsupported=%s", self.name, sorted(gate.rejected))
                yield _say(context, DONT_KNOW)
                return
            if TRANSFERRING in said and not any(call.name == "transfer_call" for call in calls):
                # Small models say the transfer sentence the prompt gives them but forget the tool call;
                # the caller was promised a person, so the promise is kept.
                calls.append(ToolCall("transfer_call", '{"reason": "the agent said it would transfer"}'))
            if not calls:
                return
            calls = in_order(calls, round_no)
            outcomes = []
            for n, call in enumerate(calls):
                if n < MAX_CALLS_PER_ANSWER:
                    outcome = await self._tools.execute(call, context)
                else:
                    outcome = self._tools.over_limit(call, MAX_CALLS_PER_ANSWER)
                outcomes.append(outcome)
                if outcome.ok:
                    trusted.append(outcome.content)
                for event in outcome.events:
                    yield _say(context, event.text) if isinstance(event, TextDelta) else event
            if not needs_another_round(outcomes):
                return
            messages.extend(round_messages(said.strip(), calls, outcomes))
        # The model is still calling tools after its last round: stop, and never leave the caller hanging.
        LLM_TOOL_ROUND_LIMITS.inc()
        log.warning(
            "LLM_TOOL_ROUND_LIMIT model=%s conversation=%s rounds=%d",
            self.name,
            conversation.conversation_id[:64],
            self._max_rounds,
        )
        if not all(outcome.ok for outcome in outcomes):
            yield _say(context, ROUND_LIMIT)
        elif not context.said.strip():
            yield _say(context, ANYTHING_ELSE)

    async def _answer(
        self, messages: list[dict[str, Any]], gate: SentenceGate, context: ToolContext, calls: list[ToolCall]
    ) -> AsyncGenerator[TextDelta, None]:
        """One request: the sentences the gate lets through, as they come; its tool calls into `calls`."""
        # aclosing: stopping early must close the backend's stream now (freeing the connection or the
        # llama.cpp slot), not whenever the garbage collector gets to it.
        async with aclosing(self._model.stream(messages, self._tools.definitions())) as deltas:
            async for delta in deltas:
                if isinstance(delta, ToolCall):
                    calls.append(delta)
                elif not gate.done:
                    for sentence in gate.feed(delta):
                        yield _say(context, sentence)
                    if gate.rejected:
                        return  # an unsupported figure: nothing more of this answer is used
                # Past two sentences the words are not spoken, but the stream is read on: a tool call
                # (a message to take) may still follow them.
        for sentence in gate.finish():
            yield _say(context, sentence)


def _say(context: ToolContext, text: str) -> TextDelta:
    """`text` as the next piece of the turn's answer: one space after the last piece if it needs one."""
    if context.said and not context.said[-1].isspace() and not text[:1].isspace():
        text = " " + text
    context.said += text
    return TextDelta(text)
