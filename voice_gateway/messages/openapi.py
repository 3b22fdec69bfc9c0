"""The OpenAPI 3.1 description of `/api/messages`, merged into the gateway's `/openapi.json`."""

from __future__ import annotations

from typing import Any

from voice_gateway.messages.model import PAGE_MAX


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_STATUS = {"type": "string", "enum": ["new", "handled"]}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_ERRORS = {
    "401": _json(_ref("Error"), "Missing or wrong bearer token"),
    "413": {
        "description": "The body is over MAX_BODY_BYTES",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    "422": _json(_ref("Error"), "Invalid fields (named in error.fields)"),
    "429": _json(_ref("Error"), "Over API_RATE_LIMIT_PER_MINUTE for this token"),
    "503": _json(_ref("Error"), "API_TOKEN not set, or the gateway is starting or stopping"),
}

SCHEMAS: dict[str, Any] = {
    "OwnerMessage": {
        "type": "object",
        "required": ["id", "name", "number", "reason", "channel", "taken_at", "status", "notification"],
        "properties": {
            "id": {"type": "string", "description": "The agent's message id"},
            "name": {"type": "string", "description": "The caller's name as they gave it"},
            "number": {"type": "string", "description": "Call-back number; empty when none was given"},
            "number_is_caller_id": {"type": "boolean"},
            "reason": {"type": "string"},
            "channel": {"type": "string", "enum": ["voice", "whatsapp", "api"]},
            "conversation_id": {"type": "string", "description": "The call's CallSid, or the chat's id"},
            "caller": {"type": "string", "description": "Caller ID or WhatsApp contact; may be empty"},
            "taken_at": {"type": "string"},
            "created_at": {"type": "string"},
            "status": _STATUS,
            "handled_at": _NULLABLE_TEXT,
            "notification": {
                "type": "object",
                "description": "The owner's WhatsApp (OWNER_WHATSAPP)",
                "properties": {
                    "state": {"type": "string", "enum": ["off", "pending", "sent", "failed"]},
                    "attempts": {"type": "integer", "minimum": 0},
                    "last_error": _NULLABLE_TEXT,
                    "next_attempt_at": _NULLABLE_TEXT,
                    "whatsapp_message_id": _NULLABLE_TEXT,
                    "sent_at": _NULLABLE_TEXT,
                },
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/api/messages": {
        "get": {
            "summary": "Messages the agent took, newest first",
            "parameters": [
                {"name": "status", "in": "query", "schema": _STATUS},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX},
                },
                {
                    "name": "before",
                    "in": "query",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                    "description": "The `next` of the page before: the id of the last message it listed",
                },
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["messages", "next"],
                        "properties": {
                            "messages": {"type": "array", "items": _ref("OwnerMessage")},
                            "next": {
                                **_NULLABLE_TEXT,
                                "description": "Cursor of the next page; null at the end",
                            },
                        },
                    },
                    "A page of messages",
                ),
                "404": _json(_ref("Error"), "`before` names no message"),
                **_ERRORS,
            },
        }
    },
    "/api/messages/{id}": {
        "patch": {
            "summary": "Mark a message handled (or new again)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["status"],
                            "properties": {"status": _STATUS},
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_ref("OwnerMessage"), "The message as it is now"),
                "400": _json(_ref("Error"), "The body is not JSON"),
                "404": _json(_ref("Error"), "No such message"),
                **_ERRORS,
            },
        }
    },
}
