"""`GET /calls/<CallSid>/live`: one AI call's conversation as server-sent events, for whoever placed it.

The simulator (tools/simulate) prints it, so a first AI call shows what the agent heard, what it said and
each turn's latency without opening a database. It is authorised by the call's own StreamToken (a
`<Parameter>` of the TwiML `/incoming_call` answered, sent as `Authorization: Bearer <token>`): whoever
could start the call's stream may watch it, nobody else. It may be opened from the TwiML on, before the
stream starts; it waits for the start until the token expires, and ends when the call ends.

Events: `started`, `heard` {text}, `said` {text} (an agent sentence as sent), `played` {text} (what the
caller heard of a reply), `turn` {endpointing, stt, llm, tts, total} in ms, `end` {outcome}; a comment
every `KEEPALIVE_S` keeps proxies from closing a quiet feed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from quart import Blueprint, Response, request

from voice_gateway import metrics
from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.calls.feed import Feed, FeedEvent, FeedRefused, LiveFeeds
from voice_gateway.settings import Settings
from voice_gateway.twilio.signatures import call_token_problem

log = logging.getLogger("voice_gateway.calls")

LIVE_PATH = "/calls/<call_sid>/live"
KEEPALIVE_S = 15.0
MAX_CALL_SID_CHARS = 64  # as the Media Streams parser allows


def live_feed_blueprint(settings: Settings, ai: AiMode | None) -> Blueprint:
    blueprint = Blueprint("live_feed", __name__)

    def refuse(status: int, result: str, message: str) -> Response:
        metrics.LIVE_FEEDS.labels(result).inc()
        log.warning("LIVE_FEED_REFUSED status=%d result=%s reason=%s", status, result, message)
        return Response(message + "\n", status=status, content_type="text/plain")

    @blueprint.get(LIVE_PATH)
    async def live_feed(call_sid: str) -> Response:
        if len(call_sid) > MAX_CALL_SID_CHARS:
            return refuse(404, "not_found", f"no call has a CallSid over {MAX_CALL_SID_CHARS} characters")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return refuse(403, "forbidden", "send the call's StreamToken as Authorization: Bearer <token>")
        token = token.strip()
        problem = call_token_problem(settings.call_token_secret, call_sid, token, settings.call_token_ttl_s)
        if problem is not None:
            return refuse(403, "forbidden", problem.removeprefix("start.customParameters."))
        if ai is None:
            mode = settings.ws_mode.value
            return refuse(404, "not_found", f"WS_MODE={mode}: only AI calls have a conversation to show")
        registry = ai.registry
        live, so_far = await registry.state_of(call_sid)  # on this gateway or, sharing state, another
        try:
            feed = registry.feeds.subscribe(call_sid, live, so_far)
        except FeedRefused as refused:
            return refuse(refused.status, refused.reason, str(refused))
        metrics.LIVE_FEEDS.labels("opened").inc()
        log.info("LIVE_FEED_OPENED call=%s started=%s", call_sid, feed.started)
        expires_at = int(token.partition(".")[0]) + settings.call_token_ttl_s
        response = Response(
            feed_events(registry.feeds, feed, expires_at),
            content_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        response.timeout = None  # it lasts as long as the call; the keep-alive shows it is alive
        return response

    return blueprint


async def feed_events(feeds: LiveFeeds, feed: Feed, expires_at: float) -> AsyncIterator[bytes]:
    try:
        # Sent at once, so the listener knows it is subscribed before the call's first word.
        yield f": live feed of call {feed.call_sid}\n\n".encode()
        while True:
            wait = KEEPALIVE_S
            if not feed.started:  # a stream can only start while its token is valid
                wait = min(wait, max(0.0, expires_at - time.time()))
            try:
                event = await asyncio.wait_for(feed.queue.get(), wait)
            except TimeoutError:
                if not feed.started and time.time() >= expires_at:
                    yield FeedEvent("end", {"outcome": "the call's stream never started"}).sse()
                    return
                yield b": keep-alive\n\n"
                continue
            yield event.sse()
            if event.kind == "end":
                return
    finally:
        feeds.unsubscribe(feed)
        log.info("LIVE_FEED_CLOSED call=%s", feed.call_sid)
