"""`/console/history` and `/console/calls/<CallSid>`: past calls, searched by number and date range a page at
a time, and one call's transcript, per-turn latency, and the messages and bookings taken on it together.

A call's messages are the owner messages whose conversation is its CallSid; its bookings are the agent's
appointments whose `source` is its CallSid (both sides store the CallSid the agent was given), looked up
from the call's day to the booking horizon the agent accepts in one request (366 days).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from quart import Blueprint, Response, render_template, request

from voice_gateway.agent_client import AgentClient
from voice_gateway.calendar.agent_calendar import Booked, CalendarProblem, list_appointments
from voice_gateway.console.chart import latency_chart
from voice_gateway.console.data import ConsoleData, PastCall
from voice_gateway.console.responses import AnyResponse
from voice_gateway.storage.calls import CallQuery

log = logging.getLogger("voice_gateway.console")

PAGE_SIZE = 25
MAX_PAGE = 400  # 10,000 calls back: past that, narrow the dates
MAX_NUMBER_DIGITS = 15  # E.164's longest number
BOOKING_HORIZON = timedelta(days=366)
Page = Callable[..., Awaitable[AnyResponse]]
_SEPARATORS = re.compile(r"[\s().\-/]")


@dataclass(frozen=True, slots=True)
class Search:
    """The history page's query as typed (to refill the form) and as the store asks it."""

    number: str = ""
    start: str = ""
    end: str = ""
    page: int = 1

    def query(self) -> CallQuery:
        after = date.fromisoformat(self.start).isoformat() if self.start else ""
        # The end day is included: calls before the next day's midnight (UTC, as the page shows times).
        before = (date.fromisoformat(self.end) + timedelta(days=1)).isoformat() if self.end else ""
        digits = self.number.lstrip("+")
        # One more than a page, to know whether there is a next one.
        return CallQuery(digits, after, before, (self.page - 1) * PAGE_SIZE, PAGE_SIZE + 1)

    def link(self, page: int) -> str:
        shown = {"number": self.number, "from": self.start, "to": self.end}
        return "/console/history?" + urlencode({**{k: v for k, v in shown.items() if v}, "page": page})


def parse_search(args: dict[str, str]) -> tuple[Search, dict[str, str]]:
    """The search, and a problem per field (named as the form labels it) when any is invalid."""
    problems: dict[str, str] = {}
    number = _SEPARATORS.sub("", args.get("number", ""))[:64]
    if number and not re.fullmatch(rf"\+?[0-9]{{1,{MAX_NUMBER_DIGITS}}}", number):
        problems["number"] = f"Number: digits only (a leading + is fine), at most {MAX_NUMBER_DIGITS}"
    days: dict[str, str] = {}
    for field, label in (("from", "From"), ("to", "To")):
        value = args.get(field, "").strip()[:32]
        try:
            days[field] = date.fromisoformat(value).isoformat() if value else ""
        except ValueError:
            problems[field] = f"{label}: a date as YYYY-MM-DD"
            days[field] = ""
    if days["from"] and days["to"] and days["to"] < days["from"]:
        problems["to"] = "To: on or after From"
    raw_page = args.get("page", "").strip() or "1"
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= 4 else 0
    if not 1 <= page <= MAX_PAGE:
        problems["page"] = f"Page: a whole number from 1 to {MAX_PAGE} (narrow the dates to go further back)"
        page = 1
    if problems:
        return Search(number if "number" not in problems else "", days["from"], days["to"]), problems
    return Search(number, days["from"], days["to"], page), problems


def register_calls(
    blueprint: Blueprint,
    signed_in: Callable[[Page], Page],
    agent: AgentClient,
    data: Callable[[], ConsoleData],
) -> None:
    @blueprint.get("/history")
    @signed_in
    async def history(csrf: str) -> AnyResponse:
        asked = {k: request.args.get(k, "") for k in ("number", "from", "to", "page")}
        search, problems = parse_search(asked)
        found: list[PastCall] = [] if problems else await data().search_calls(search.query())
        more = len(found) > PAGE_SIZE
        calls = found[:PAGE_SIZE]
        html = await render_template(
            "history.html",
            csrf=csrf,
            page="history",
            calls=calls,
            charts={c.call_sid: latency_chart(list(c.turns)) for c in calls},
            search=search,
            problems=problems,
            searching=bool(search.number or search.start or search.end),
            previous=search.link(search.page - 1) if search.page > 1 and not problems else "",
            next=search.link(search.page + 1) if more and search.page < MAX_PAGE else "",
            deepest=more and search.page == MAX_PAGE,
            page_size=PAGE_SIZE,
        )
        return Response(html, status=422 if problems else 200)

    @blueprint.get("/calls/<call_sid>")
    @signed_in
    async def call_page(csrf: str, call_sid: str) -> AnyResponse:
        call = await data().call(call_sid[:64])
        if call is None:
            html = await render_template("call.html", csrf=csrf, page="history", call=None, sid=call_sid[:64])
            return Response(html, status=404)
        messages = await data().messages_on_call(call.call_sid)
        bookings, problem = await bookings_on_call(agent, call)
        html = await render_template(
            "call.html",
            csrf=csrf,
            page="history",
            call=call,
            sid=call.call_sid,
            chart=latency_chart(list(call.turns)),
            messages=messages,
            bookings=bookings,
            bookings_problem=problem,
        )
        return Response(html)


async def bookings_on_call(agent: AgentClient, call: PastCall) -> tuple[list[Booked], str]:
    """The appointments booked on `call`, or a sentence saying why they cannot be listed now."""
    try:
        started = datetime.fromisoformat(call.started_at)
    except ValueError:
        started = datetime.now(UTC)
    # From the start of the call's day: an appointment cannot start before the call that booked it, but
    # one booked "for now" may start minutes before the call's record was written.
    since = started.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        found, _ = await list_appointments(agent, since, since + BOOKING_HORIZON)
    except CalendarProblem as e:
        return [], str(e)
    return [b for b in found if b.source == call.call_sid], ""
