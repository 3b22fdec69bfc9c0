"""What a ChatRequest may carry: required fields present, every field bounded.

gRPC itself only caps a message at AGENT_MAX_MESSAGE_BYTES (4 MiB), and each accepted text is kept in
the conversation's history on disk, so without these bounds a client could grow the agent's store by
megabytes a message. A WhatsApp text is at most a few thousand characters; a contact or chat id is a
few dozen. A request past a bound is refused whole (INVALID_ARGUMENT naming the field), never cut.
"""

from __future__ import annotations

import logging

from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics
from agent_service.errors import ProtocolError

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4000
MAX_CONVERSATION_ID_CHARS = 128
MAX_FROM_ADDRESS_CHARS = 128
MAX_REQUEST_ID_CHARS = 128
MAX_METADATA_ENTRIES = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 256


def check_chat_request(request: agent_pb2.ChatRequest) -> None:
    """Raise ProtocolError naming the first field that is missing or too long; log and count it."""
    problem = _problem(request)
    if problem is None:
        return
    field, detail = problem
    metrics.CHATS_REFUSED.labels(field).inc()
    log.warning("CHAT_REFUSED field=%s %s", field, detail)
    raise ProtocolError(f"ChatRequest.{field} {detail}")


def _problem(request: agent_pb2.ChatRequest) -> tuple[str, str] | None:
    if not request.conversation_id:
        return "conversation_id", "is required"
    if not request.text.strip():
        return "text", "is required"
    for field, value, limit in (
        ("conversation_id", request.conversation_id, MAX_CONVERSATION_ID_CHARS),
        ("text", request.text, MAX_TEXT_CHARS),
        ("from_address", request.from_address, MAX_FROM_ADDRESS_CHARS),
        ("request_id", request.request_id, MAX_REQUEST_ID_CHARS),
    ):
        if len(value) > limit:
            return field, f"is {len(value)} characters; at most {limit} are accepted"
    if len(request.metadata) > MAX_METADATA_ENTRIES:
        return "metadata", f"has {len(request.metadata)} entries; at most {MAX_METADATA_ENTRIES} are accepted"
    for key, value in request.metadata.items():
        if len(key) > MAX_METADATA_KEY_CHARS or len(value) > MAX_METADATA_VALUE_CHARS:
            return "metadata", (
                f"has an entry over {MAX_METADATA_KEY_CHARS} characters of key or "
                f"{MAX_METADATA_VALUE_CHARS} of value"
            )
    return None
