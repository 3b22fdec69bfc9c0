"""`GET /calendar/<CALENDAR_FEED_TOKEN>.ics`: the agent's appointments as one iCalendar file, read-only,
for the owner to subscribe to from Google Calendar, Apple Calendar or a phone.

The token is the only credential (calendar apps cannot send a bearer header), so it is long (settings
refuse one under 24 characters), compared in constant time, and a wrong one gets the same 404 as no
feed at all. Unset: there is no feed.
"""

from __future__ import annotations

import hmac
import logging

from quart import Blueprint, Response

from voice_gateway.agent_client import AgentClient
from voice_gateway.calendar.agent_calendar import CalendarProblem, calendar_feed
from voice_gateway.settings import Settings

log = logging.getLogger("voice_gateway.calendar")


def calendar_feed_blueprint(settings: Settings, agent: AgentClient) -> Blueprint:
    blueprint = Blueprint("calendar_feed", __name__)
    token = settings.calendar_feed_token

    @blueprint.get("/calendar/<presented>.ics")
    async def feed(presented: str) -> Response:
        if token is None or not hmac.compare_digest(presented.encode(), token.encode()):
            return Response("not found\n", status=404, content_type="text/plain; charset=utf-8")
        try:
            ics = await calendar_feed(agent)
        except CalendarProblem as problem:
            log.warning("CALENDAR_FEED_FAILED status=%d error=%s", problem.status, problem)
            return Response(f"{problem}\n", status=problem.status, content_type="text/plain; charset=utf-8")
        return Response(
            ics,
            content_type="text/calendar; charset=utf-8",
            # Subscribers poll; a minute of caching spares the calendar, and no proxy may keep a copy.
            headers={"Cache-Control": "private, max-age=60", "X-Robots-Tag": "noindex"},
        )

    return blueprint
