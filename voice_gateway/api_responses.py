"""What every `/api/` route answers with: JSON bodies, one error shape, and the `API_TOKEN` bearer check."""

from __future__ import annotations

import hmac
import json
from typing import Any

from quart import Response, request


def error(
    status: int, code: str, message: str, fields: dict[str, str] | None = None, **extra: Any
) -> Response:
    """`{"error": {"code", "message"[, "fields"], ...}}`: the one error shape of the whole API."""
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    if fields:
        body["fields"] = fields
    return Response(json.dumps({"error": body}), status=status, content_type="application/json")


def ok(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def bearer_refusal(api_token: str | None) -> Response | None:
    """None when the request carries `Authorization: Bearer <API_TOKEN>`; else the answer to give."""
    if not api_token:
        return error(503, "api_disabled", "API_TOKEN is not set, so the /api/ surface is disabled")
    offered = request.headers.get("Authorization", "")
    # Compared in constant time: how long a wrong token took must not say how much of it was right.
    if not hmac.compare_digest(offered.encode(), f"Bearer {api_token}".encode()):
        response = error(401, "unauthorized", "send Authorization: Bearer <API_TOKEN>")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None
