"""`/console/talk`: the owner talks to their agent from the browser, with no phone or Twilio account.

The page (static/talk.js, static/talk-worklet.js) turns the microphone into 20 ms µ-law frames and speaks
the Media Streams protocol on `TALK_PATH`; the gateway runs that socket through the very endpoint Twilio's
streams use (same modes, bridge, call cap, storage and live feed), as a call on the `browser` channel.

The upgrade is vouched for here instead of by a Twilio signature: the console's session cookie (it is
sent because the path is under /console) and, since this socket IS opened by a browser, an Origin that
is the console's own, so another site cannot open it with the owner's cookie.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from quart import Blueprint, Response, render_template

from voice_gateway import metrics
from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.calls.endpoint import BROWSER_CALL_SID, MediaStreamEndpoint
from voice_gateway.calls.endpoint import _refuse_upgrade as refuse_upgrade
from voice_gateway.calls.feed import FeedRefused
from voice_gateway.calls.live_feed import feed_events
from voice_gateway.console.auth import SESSION_COOKIE, ConsoleAuth
from voice_gateway.console.responses import AnyResponse, text
from voice_gateway.server.asgi_websocket import Receive, Scope, Send
from voice_gateway.settings import Settings

log = logging.getLogger("voice_gateway.console")

TALK_PATH = "/console/talk/stream"
Page = Callable[..., Awaitable[AnyResponse]]


def same_origin(origin: str | None, host: str | None, public_base_url: str | None) -> bool:
    """The page that opened the socket was served by this gateway: its Origin names the Host the socket
    was opened to, or the public address the gateway is reached at behind a proxy."""
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    if host and parts.netloc.lower() == host.strip().lower():
        return True
    if public_base_url:
        public = urlsplit(public_base_url)
        return (public.scheme, public.netloc.lower()) == (parts.scheme, parts.netloc.lower())
    return False


def session_cookie(raw: str | None) -> str | None:
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else None


class BrowserCalls:
    """The ASGI endpoint on `TALK_PATH`: refuses an upgrade without a console session or from another
    origin (HTTP 401/403 before any WebSocket exists), then hands it to the Media Streams endpoint."""

    def __init__(self, settings: Settings, auth: ConsoleAuth, media_streams: MediaStreamEndpoint) -> None:
        self._settings = settings
        self._auth = auth
        self._media_streams = media_streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refused = await self._problem(headers)
        if refused is not None:
            status, reason = refused
            metrics.BROWSER_CALLS_REFUSED.labels(str(status)).inc()
            log.warning("BROWSER_CALL_REFUSED status=%d reason=%s", status, reason)
            await refuse_upgrade(scope, send, status, reason)
            return
        await self._media_streams.accept(scope, receive, send, browser=True)

    async def _problem(self, headers: dict[str, str]) -> tuple[int, str] | None:
        if not self._auth.enabled:
            return 503, "the console is off: set CONSOLE_PASSWORD (or API_TOKEN)"
        if not same_origin(headers.get("origin"), headers.get("host"), self._settings.public_base_url):
            return 403, "a browser call must come from this console's own page (Origin)"
        if await self._auth.session(session_cookie(headers.get("cookie"))) is None:
            return 401, "sign in to the console first"
        return None


def register_talk(
    blueprint: Blueprint, signed_in: Callable[[Page], Page], settings: Settings, ai: AiMode | None
) -> None:
    @blueprint.get("/talk")
    @signed_in
    async def talk(csrf: str) -> AnyResponse:
        html = await render_template(
            "talk.html", csrf=csrf, page="talk", mode=settings.ws_mode.value, stream_path=TALK_PATH
        )
        return Response(html)

    @blueprint.get("/talk/<call_sid>/live")
    @signed_in
    async def talk_live(_csrf: str, call_sid: str) -> AnyResponse:
        """The browser call's conversation as server-sent events (calls/feed.py); AI mode only."""
        if BROWSER_CALL_SID.fullmatch(call_sid) is None:
            return text("not a browser call: BR and 32 hex digits", 404)
        if ai is None:
            return text(f"WS_MODE={settings.ws_mode.value}: only AI calls have a transcript", 404)
        # The page's socket may have reached another gateway sharing this one's state (calls/live_feed.py).
        live, so_far = await ai.registry.state_of(call_sid)
        try:
            feed = ai.registry.feeds.subscribe(call_sid, live, so_far)
        except FeedRefused as refused:
            return text(str(refused), refused.status)
        # Opened just before the page's socket: a stream that has not started by then never will.
        expires_at = time.time() + settings.ws_start_timeout_s + 5
        response = Response(
            feed_events(ai.registry.feeds, feed, expires_at),
            content_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )
        response.timeout = None
        return response
