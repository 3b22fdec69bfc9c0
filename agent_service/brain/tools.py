"""The actions, as OpenAI-style tool definitions, and the mapping of a model's tool call to an action.

The model never chooses where a call is transferred: transfer_call takes only a reason and the number
comes from the knowledge file. `lookup` is answered from the knowledge file by the receptionist's
retrieval, so even a tool-driven answer is quoted, never generated.
"""

from __future__ import annotations

import json
from typing import Any

from agent_service.brain.events import Conversation, EndCall, SendWhatsApp, TakeMessage, TransferCall
from agent_service.brain.message_parsing import find_number


def _tool(tool_name: str, description: str, **properties: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool_name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {
                    key: {"type": "string", "description": text} for key, text in properties.items()
                },
                "required": list(properties),
            },
        },
    }


TOOLS: list[dict[str, Any]] = [
    _tool("end_call", "End the conversation after saying goodbye.", reason="why the conversation ends"),
    _tool("transfer_call", "Put the caller through to a member of the team.", reason="why"),
    _tool("send_whatsapp", "Send the caller a WhatsApp message, e.g. the address.", text="the message"),
    _tool(
        "take_message",
        "Record a message for the team once you have the caller's name, number and reason.",
        name="caller's name",
        number="call-back phone number",
        reason="what it is about",
    ),
    _tool("lookup", "Look up a fact about the business (hours, address, prices, FAQ).", query="the question"),
]


class ToolCallError(ValueError):
    """A tool call the brain cannot carry out: unknown tool, arguments not JSON, or a field missing."""


def parse_arguments(name: str, raw: str) -> dict[str, str]:
    try:
        args = json.loads(raw or "{}")
    except json.JSONDecodeError as e:
        raise ToolCallError(f"tool {name}: arguments are not JSON: {e.msg}") from None
    if not isinstance(args, dict):
        raise ToolCallError(f"tool {name}: arguments must be a JSON object")
    return {str(k): str(v) for k, v in args.items()}


def to_action(
    name: str, args: dict[str, str], conversation: Conversation, transfer_number: str
) -> EndCall | TransferCall | SendWhatsApp | TakeMessage:
    if name == "end_call":
        return EndCall(args.get("reason", "") or "goodbye")
    if name == "transfer_call":
        return TransferCall(transfer_number, args.get("reason", ""))
    if name == "send_whatsapp":
        if not args.get("text"):
            raise ToolCallError("tool send_whatsapp: text is required")
        return SendWhatsApp(conversation.caller, args["text"])
    if name == "take_message":
        number, _ = find_number(args.get("number", ""), conversation.caller, cued=True)
        if not args.get("name") or number is None:
            raise ToolCallError("tool take_message: name and a phone number are required")
        same = number.value == conversation.caller
        return TakeMessage(args["name"], number.value, args.get("reason", ""), number_is_caller_id=same)
    raise ToolCallError(f"unknown tool {name!r}")
