"""One answer's tool calls between the model's rounds: put in order, capped, and written back to the
model as the OpenAI chat format has it (the assistant's message with its `tool_calls`, then one `tool`
message per call, by id), so the next round continues from what the tools did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent_service.brain.tool_registry import MAX_ARGUMENT_CHARS, ToolCall, ToolOutcome

MAX_CALLS_PER_ANSWER = 4


def in_order(calls: Sequence[ToolCall], round_no: int) -> list[ToolCall]:
    """Every call with an id (some servers send none), end_call last: a transfer in the same answer
    must have happened before the call may end."""
    named = [
        call if call.id else ToolCall(call.name, call.arguments, f"call_{round_no}_{i}")
        for i, call in enumerate(calls)
    ]
    return sorted(named, key=lambda call: call.name == "end_call")


def needs_another_round(outcomes: Sequence[ToolOutcome]) -> bool:
    """Whether the model must see these results to go on: not after a hang-up or a handover, nor after a
    quoted answer with nothing failed; after anything else (an error to correct, an action to confirm)."""
    if any(outcome.final for outcome in outcomes):
        return False
    return not (all(outcome.ok for outcome in outcomes) and any(o.answered for o in outcomes))


def round_messages(
    said: str, calls: Sequence[ToolCall], outcomes: Sequence[ToolOutcome]
) -> list[dict[str, Any]]:
    """The assistant's answer (what was said of it, and its calls) and the tools' results."""
    echoed = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name[:64], "arguments": _as_sent(call.arguments)},
        }
        for call in calls
    ]
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": said or None, "tool_calls": echoed}]
    messages.extend(
        {"role": "tool", "tool_call_id": call.id, "content": outcome.content}
        for call, outcome in zip(calls, outcomes, strict=True)
    )
    return messages


def _as_sent(arguments: str) -> str:
    # Servers that render the history through a template parse these; a malformed call is echoed as {}
    # (its tool result says what was wrong with it).
    if len(arguments) > MAX_ARGUMENT_CHARS:
        return "{}"
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return "{}"
    return arguments if isinstance(parsed, dict) else "{}"
