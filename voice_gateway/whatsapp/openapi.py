"""The OpenAPI 3.1 description of `/api/whatsapp/...` (and `/api/messages`), served at `/openapi.json`."""

from __future__ import annotations

from typing import Any

from voice_gateway.messages import openapi as messages_openapi

_E164 = {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$", "examples": ["+4915112345678"]}
_STATUS = {"type": "string", "enum": ["queued", "sent", "delivered", "read", "failed", "received"]}
_PROVIDER = {"type": "string", "enum": ["baileys", "twilio"]}


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "Retry-safe sends: the same key with the same body answers the first message, never a "
    "second send",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "401": _json(_ref("Error"), "Missing or wrong bearer token"),
    "413": {
        "description": "The body is over MAX_BODY_BYTES",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    "429": _json(_ref("Error"), "Over API_RATE_LIMIT_PER_MINUTE for this token, or the provider's limit"),
    "503": _json(
        _ref("Error"), "API_TOKEN not set, or the provider is not configured, not connected or unreachable"
    ),
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "accepted_possible": {"type": "boolean"},
                    "record": _ref("Message"),
                },
            }
        },
    },
    "Media": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string", "enum": ["image", "document", "audio"], "default": "image"},
            "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
            "base64": {"type": "string", "minLength": 1, "description": "Baileys only; needs mimetype"},
            "mimetype": {"type": "string", "minLength": 1},
            "filename": {"type": "string"},
        },
        "oneOf": [
            {"required": ["url"], "not": {"required": ["base64"]}},
            {"required": ["base64", "mimetype"], "not": {"required": ["url"]}},
        ],
    },
    "Template": {
        "type": "object",
        "required": ["content_sid"],
        "properties": {
            "content_sid": {"type": "string", "pattern": "^HX[0-9a-fA-F]{32}$"},
            "variables": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 100},
        },
        "description": "Twilio Content template, required outside the 24-hour window (Twilio only).",
    },
    "SendRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["to"],
        "properties": {
            "to": _E164,
            "text": {"type": "string", "minLength": 1, "maxLength": 4096, "pattern": "\\S"},
            "media": _ref("Media"),
            "template": _ref("Template"),
            "provider": {**_PROVIDER, "description": "Default: WHATSAPP_DEFAULT_PROVIDER"},
            "fallback": {
                "type": "boolean",
                "default": False,
                "description": "Try the other provider only when the first certainly did not accept.",
            },
        },
        # A template goes alone; text and media may go together.
        "anyOf": [
            {"required": ["text"], "not": {"required": ["template"]}},
            {"required": ["media"], "not": {"required": ["template"]}},
            {"required": ["template"], "not": {"anyOf": [{"required": ["text"]}, {"required": ["media"]}]}},
        ],
    },
    "StatusEvent": {
        "type": "object",
        "properties": {
            "status": _STATUS,
            "raw_status": {"type": "string"},
            "error_code": {"type": ["string", "null"]},
            "provider": {"type": ["string", "null"]},
            "applied": {"type": "boolean"},
            "at": {"type": "string"},
        },
    },
    "Message": {
        "type": "object",
        "required": ["id", "contact", "direction", "provider", "status"],
        "properties": {
            "id": {"type": "string"},
            "contact": {"type": "string"},
            "direction": {"type": "string", "enum": ["inbound", "outbound"]},
            "provider": _PROVIDER,
            "provider_id": {"type": ["string", "null"]},
            "status": _STATUS,
            "text": {"type": ["string", "null"]},
            "media": {"type": ["object", "null"]},
            "error_code": {"type": ["string", "null"]},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "sent_at": {"type": ["string", "null"], "description": "the provider's timestamp (inbound)"},
            "history": {"type": "array", "items": _ref("StatusEvent")},
        },
    },
}

_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "AgentLocator API: WhatsApp and messages", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "API_TOKEN"}},
            "schemas": {**SCHEMAS, **messages_openapi.SCHEMAS},
        },
        "security": _BEARER,
        "paths": {
            **messages_openapi.PATHS,
            "/api/whatsapp/messages": {
                "post": {
                    "summary": "Send a WhatsApp message through Baileys or Twilio",
                    "parameters": [_IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("SendRequest")}},
                    },
                    "responses": {
                        "202": _json(_ref("Message"), "Accepted by a provider"),
                        "200": _json(
                            _ref("Message"),
                            "Idempotency-Key used before with this request: the message it made, as it is "
                            "now (Idempotent-Replayed: true); nothing is sent again",
                        ),
                        "400": _json(
                            _ref("Error"),
                            "The body is not JSON (invalid_json), text holds a lone UTF-16 surrogate "
                            "(invalid_unicode), or a malformed Idempotency-Key (invalid_idempotency_key)",
                        ),
                        "409": _json(_ref("Error"), "Idempotency-Key used before with a different request"),
                        "422": _json(
                            _ref("Error"), "Invalid fields, or not on WhatsApp / refused by the provider"
                        ),
                        "504": _json(_ref("Error"), "Provider timed out; the message may still be sent"),
                        **_ERRORS,
                    },
                },
                "get": {
                    "summary": "List a contact's messages, oldest first",
                    "parameters": [
                        {"name": "contact", "in": "query", "required": True, "schema": _E164},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "contact": {"type": "string"},
                                    "messages": {"type": "array", "items": _ref("Message")},
                                },
                            },
                            "The messages",
                        ),
                        "422": _json(_ref("Error"), "contact missing or not E.164"),
                        **_ERRORS,
                    },
                },
            },
            "/api/whatsapp/messages/{id}": {
                "get": {
                    "summary": "One message with its status history; refresh=true asks the provider",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "refresh", "in": "query", "schema": {"type": "boolean"}},
                    ],
                    "responses": {
                        "200": _json(_ref("Message"), "The message"),
                        "404": _json(_ref("Error"), "No such message"),
                        **_ERRORS,
                    },
                }
            },
            "/api/whatsapp/contacts/check": {
                "post": {
                    "summary": "Is this number on WhatsApp? (null when the provider cannot tell)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["phone"],
                                    "properties": {"phone": _E164, "provider": _PROVIDER},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "phone": {"type": "string"},
                                    "provider": _PROVIDER,
                                    "exists": {"type": ["boolean", "null"]},
                                },
                            },
                            "The answer",
                        ),
                        "422": _json(_ref("Error"), "phone missing or not E.164"),
                        **_ERRORS,
                    },
                }
            },
            "/api/whatsapp/status": {
                "get": {
                    "summary": "Each provider: Baileys session state and QR waiting; Twilio configured",
                    "responses": {"200": _json({"type": "object"}, "Provider states"), **_ERRORS},
                }
            },
            "/api/whatsapp/qr": {
                "get": {
                    "summary": "The sidecar's pairing QR (PNG; ?format=json for the raw text)",
                    "parameters": [
                        {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json"]}}
                    ],
                    "responses": {
                        "200": {
                            "description": "The QR",
                            "content": {"image/png": {}, "application/json": {"schema": {"type": "object"}}},
                        },
                        "404": _json(_ref("Error"), "No QR waiting"),
                        "409": _json(_ref("Error"), "Already connected"),
                        **_ERRORS,
                    },
                }
            },
        },
    }
