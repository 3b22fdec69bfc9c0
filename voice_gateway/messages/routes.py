"""`/api/messages`: the messages the agent took, newest first, and marking one handled.

Behind `Authorization: Bearer <API_TOKEN>` like /api/whatsapp (503 while it is unset). Pages are bounded
(`limit`, at most 200) and continue after the page before: `before` is its `next`, the id of its last
message.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response, request

from voice_gateway.api_responses import bearer_refusal, error, ok
from voice_gateway.errors import GatewayStopped
from voice_gateway.messages import metrics
from voice_gateway.messages.inbox import OwnerInbox
from voice_gateway.messages.model import PAGE_DEFAULT, PAGE_MAX, MessageStatus
from voice_gateway.settings import Settings
from voice_gateway.storage.owner_messages import Cursor

Handler = Callable[..., Awaitable[Response]]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def messages_blueprint(settings: Settings, inbox: Callable[[], OwnerInbox]) -> Blueprint:
    """`inbox` gives the running inbox, or raises `GatewayStopped` outside start-up and shutdown."""
    blueprint = Blueprint("messages", __name__)

    def guarded(route: str) -> Callable[[Handler], Handler]:
        def wrap(handler: Handler) -> Handler:
            @functools.wraps(handler)
            async def checked(*args: Any, **kwargs: Any) -> Response:
                response = bearer_refusal(settings.api_token)
                if response is None:
                    try:
                        response = await handler(*args, **kwargs)
                    except Refused as exc:
                        response = error(exc.status, exc.code, exc.message, exc.fields)
                    except GatewayStopped as exc:
                        response = error(503, "stopping", str(exc))
                metrics.MESSAGES_API.labels(route, str(response.status_code)).inc()
                return response

            return checked

        return wrap

    @blueprint.get("/api/messages")
    @guarded("list_messages")
    async def list_messages() -> Response:
        status = _status(request.args.get("status"), "status", optional=True)
        limit = _limit(request.args.get("limit"))
        before: Cursor | None = None
        if (after := request.args.get("before")) is not None:
            anchor = await inbox().store.get(after)
            if anchor is None:
                raise Refused(404, "not_found", f"no message {after[:64]!r} to continue after (before)")
            before = (anchor.created_at, anchor.id)
        found = await inbox().store.page(status, limit + 1, before)
        page, more = found[:limit], len(found) > limit
        return ok({"messages": [m.as_json() for m in page], "next": page[-1].id if more else None})

    @blueprint.patch("/api/messages/<message_id>")
    @guarded("update_message")
    async def update_message(message_id: str) -> Response:
        body = await _json_object()
        unknown = sorted(set(body) - {"status"})
        if unknown:
            raise Refused(
                422, "invalid_request", "unknown fields", {k[:64]: "not a field" for k in unknown[:10]}
            )
        status = _status(body.get("status"), "status", optional=False)
        assert status is not None
        updated = await inbox().store.set_status(message_id, status)
        if updated is None:
            raise Refused(404, "not_found", f"no message {message_id[:64]!r}")
        return ok(updated.as_json())

    return blueprint


def _status(raw: object, field: str, *, optional: bool) -> MessageStatus | None:
    if raw is None and optional:
        return None
    if isinstance(raw, str) and raw in {s.value for s in MessageStatus}:
        return MessageStatus(raw)
    raise Refused(422, "invalid_request", "invalid fields", {field: "expected new or handled"})


def _limit(raw: str | None) -> int:
    if raw is None:
        return PAGE_DEFAULT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
        raise Refused(422, "invalid_request", "invalid fields", {"limit": f"expected 1 to {PAGE_MAX}"})
    return int(raw)


async def _json_object() -> dict[str, Any]:
    raw = await request.get_data(as_text=False)
    assert isinstance(raw, bytes)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refused(422, "invalid_request", "invalid fields", {"body": "expected a JSON object"})
    return body
