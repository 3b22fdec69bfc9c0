"""`/console/messages`: the messages the agent took, newest first, with the owner's WhatsApp for each and
a button that marks one handled (or new again). Registered on the console's blueprint behind its sign-in
and CSRF check, so it is one more page of the console rather than a second surface.

The page asks `/console/messages/updates` every few seconds while it is shown (static/messages.js): the
same list, each message rendered by the same template, so a new message appears and a notification's
state moves on (pending, sent) without a reload; bounded to one page of PAGE messages per ask."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, redirect, render_template, request

from voice_gateway.console.data import ConsoleData
from voice_gateway.console.responses import AnyResponse, as_json, text
from voice_gateway.messages.model import MessageStatus

log = logging.getLogger("voice_gateway.console")

PAGE = 100
_FILTERS = {"new": MessageStatus.NEW, "handled": MessageStatus.HANDLED, "all": None}
Page = Callable[..., Awaitable[AnyResponse]]


def register_messages(
    blueprint: Blueprint, signed_in: Callable[[Page], Page], data: Callable[[], ConsoleData], notifying: bool
) -> None:
    """`notifying`: OWNER_WHATSAPP is set, so each message is also sent to the owner."""

    @blueprint.get("/messages")
    @signed_in
    async def messages(csrf: str) -> AnyResponse:
        shown = request.args.get("status", "new")
        if shown not in _FILTERS:
            return text("unknown filter: expected new, handled or all", 404)
        found = await data().owner_messages.page(_FILTERS[shown], PAGE)
        html = await render_template(
            "messages.html", csrf=csrf, page="messages", messages=found, shown=shown, notifying=notifying
        )
        return Response(html)

    @blueprint.get("/messages/updates")
    @signed_in
    async def updates(csrf: str) -> AnyResponse:
        shown = request.args.get("status", "new")
        if shown not in _FILTERS:
            return text("unknown filter: expected new, handled or all", 404)
        found = await data().owner_messages.page(_FILTERS[shown], PAGE)
        rendered = [
            {"id": m.id, "html": await render_template("_message.html", m=m, csrf=csrf, shown=shown)}
            for m in found
        ]
        return as_json({"messages": rendered})

    @blueprint.post("/messages/<message_id>/status")
    @signed_in
    async def set_status(_csrf: str, message_id: str) -> AnyResponse:
        form: Any = await request.form
        chosen = form.get("status", "")
        if chosen not in ("new", "handled"):
            return text("expected status new or handled", 422)
        updated = await data().owner_messages.set_status(message_id, MessageStatus(chosen))
        if updated is None:
            return text(f"no message {message_id[:64]}", 404)
        log.info("CONSOLE_MESSAGE_STATUS id=%s status=%s", message_id, chosen)
        back = form.get("shown", "new")
        return redirect(
            "/console/messages?" + urlencode({"status": back if back in _FILTERS else "new"}), 303
        )
