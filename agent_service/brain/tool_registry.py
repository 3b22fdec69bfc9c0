"""The tools an LLM may call: a registry the composition root fills, one module per group of tools.

Every call goes through `ToolRegistry.execute`: the arguments are parsed (bounded in size), checked
against the tool's own schema (tool_schema.py), and only then handed to the tool, which checks what a
schema cannot (is this a number the caller gave? has the caller said goodbye?) and raises ToolRefused
with a sentence the model can act on. Whatever happens, the model gets a result to continue from and the
caller a working call: a bad tool call is logged and counted, never raised.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agent_service.brain.events import BrainEvent, Conversation
from agent_service.brain.receptionist import Assessment
from agent_service.brain.tool_schema import check_schema, validate
from agent_service.metrics import LLM_TOOL_CALLS

log = logging.getLogger(__name__)

MAX_ARGUMENT_CHARS = 4096
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # OpenAI's rule for function names

Status = Literal["ok", "invalid", "refused", "unknown", "failed", "over_limit"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as the model wrote it
    id: str = ""  # the model's id for the call; its result refers to it


class ToolRefused(Exception):
    """A well-formed call the tool will not carry out. The message tells the model why and what to do."""


@dataclass(slots=True)
class ToolContext:
    """One turn as the tools see it; the brain updates it as the turn goes on."""

    conversation: Conversation
    ask_knowledge: Callable[[Conversation], Assessment]  # the receptionist: answers quoted from the file
    said: str = ""  # what the agent has said so far this turn
    handed_over: bool = False  # the caller was put through this turn, so the call may end


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool did: a sentence for the model, and events for the caller (actions, quoted text)."""

    message: str
    events: tuple[BrainEvent, ...] = ()
    final: bool = False  # the call is over or handed over: the model is not asked again this turn
    answered: bool = False  # the events answer the caller themselves (a quoted fact)


Run = Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema, the subset tool_schema.py enforces
    run: Run
    # Arguments a model may try to add and must never set, each with the reason it is refused (e.g. a
    # transfer's number: calls only go to the configured line).
    refused_arguments: Mapping[str, str] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        """The OpenAI function-calling definition."""
        function = {"name": self.name, "description": self.description, "parameters": self.parameters}
        return {"type": "function", "function": function}


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    status: Status
    content: str  # the tool message's content: JSON the model reads
    events: tuple[BrainEvent, ...] = ()
    final: bool = False
    answered: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _failure(status: Status, error: str) -> ToolOutcome:
    return ToolOutcome(status, json.dumps({"ok": False, "error": error}))


class ToolRegistry:
    """The tools offered to the model, by name. Filled once by the composition root."""

    def __init__(self, *groups: Iterable[ToolSpec]) -> None:
        self._tools: dict[str, ToolSpec] = {}
        self._definitions: list[dict[str, Any]] = []
        for group in groups:
            self.add(*group)

    def add(self, *specs: ToolSpec) -> None:
        """Register tools. A duplicate name or a schema the validator cannot enforce is a start-up error."""
        for spec in specs:
            if not _TOOL_NAME.fullmatch(spec.name) or spec.name in self._tools:
                raise ValueError(f"tool name {spec.name!r} is invalid or already registered")
            check_schema(spec.parameters, spec.name)
            self._tools[spec.name] = spec
            self._definitions.append(spec.definition())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        return self._definitions

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolOutcome:
        spec = self._tools.get(call.name)
        if spec is None:
            outcome = _failure(
                "unknown", f"unknown tool {call.name[:64]!r}; the tools are: {', '.join(self._tools)}"
            )
        else:
            outcome = await self._checked(spec, call, context)
        self._record(call, outcome)
        return outcome

    def over_limit(self, call: ToolCall, limit: int) -> ToolOutcome:
        """The result for a call past the per-answer limit: not carried out, and the model is told so."""
        outcome = _failure("over_limit", f"not done: at most {limit} tool calls per answer")
        self._record(call, outcome)
        return outcome

    async def _checked(self, spec: ToolSpec, call: ToolCall, context: ToolContext) -> ToolOutcome:
        if len(call.arguments) > MAX_ARGUMENT_CHARS:
            return _failure(
                "invalid", f"arguments are {len(call.arguments)} characters; at most {MAX_ARGUMENT_CHARS}"
            )
        try:
            args = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as e:
            return _failure("invalid", f"arguments are not JSON: {e.msg} at character {e.pos}")
        if not isinstance(args, dict):
            return _failure("invalid", "arguments must be a JSON object")
        for name, reason in spec.refused_arguments.items():
            if name in args:
                return _failure("refused", f"{name}: {reason}")
        if (error := validate(spec.parameters, args)) is not None:
            return _failure("invalid", error)
        try:
            result = await spec.run(args, context)
        except ToolRefused as e:
            return _failure("refused", str(e))
        except Exception:
            # A tool's own failure (a calendar that is down) must not end the caller's call.
            log.exception("LLM_TOOL_FAILED tool=%s", spec.name)
            return _failure("failed", "the tool failed; apologise and offer to take a message")
        content = json.dumps({"ok": True, "result": result.message})
        return ToolOutcome("ok", content, result.events, result.final, result.answered)

    def _record(self, call: ToolCall, outcome: ToolOutcome) -> None:
        tool = (
            call.name if call.name in self._tools else "unknown"
        )  # a bounded label, whatever the model says
        LLM_TOOL_CALLS.labels(tool, outcome.status).inc()
        if outcome.ok:
            log.info("LLM_TOOL_CALL tool=%s status=ok", tool)
        else:
            # A model's bad call is its mistake, not the caller's: logged, counted, answered, carried on.
            log.warning(
                "LLM_TOOL_CALL tool=%s status=%s name=%.64r result=%s",
                tool,
                outcome.status,
                call.name,
                outcome.content,
            )
