"""`/console/bookings`: the appointments the agent booked, upcoming, by day in the business's time zone,
each with a Cancel button (the console's sign-in and CSRF check, as on every form). The calendar is the
agent's (CalDAV or its embedded one); this page reads and cancels through the agent's RPCs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from itertools import groupby
from urllib.parse import urlencode

from quart import Blueprint, Response, redirect, render_template, request

from voice_gateway.agent_client import AgentClient
from voice_gateway.calendar.agent_calendar import (
    Booked,
    CalendarProblem,
    cancel_appointment,
    list_appointments,
)
from voice_gateway.console.responses import AnyResponse, text

log = logging.getLogger("voice_gateway.console")

DAYS_SHOWN = 90
Page = Callable[..., Awaitable[AnyResponse]]


def by_day(booked: list[Booked]) -> list[tuple[str, list[Booked]]]:
    """[("Tuesday 1 December 2026", [...]), ...] in start order (already sorted by the agent)."""
    return [
        (day, list(group)) for day, group in groupby(booked, key=lambda b: b.start.strftime("%A %-d %B %Y"))
    ]


def register_bookings(blueprint: Blueprint, signed_in: Callable[[Page], Page], agent: AgentClient) -> None:
    @blueprint.get("/bookings")
    @signed_in
    async def bookings(csrf: str) -> AnyResponse:
        now = datetime.now(UTC)
        problem, status, days, calendar = "", 200, [], ""
        try:
            found, calendar = await list_appointments(agent, now, now + timedelta(days=DAYS_SHOWN))
            days = by_day(found)
        except CalendarProblem as e:
            problem, status = str(e), e.status
        html = await render_template(
            "bookings.html",
            csrf=csrf,
            page="bookings",
            days=days,
            problem=problem,
            calendar=calendar,
            days_shown=DAYS_SHOWN,
            notice=request.args.get("cancelled", "")[:200],
        )
        return Response(html, status=status)

    @blueprint.post("/bookings/<appointment_id>/cancel")
    @signed_in
    async def cancel(_csrf: str, appointment_id: str) -> AnyResponse:
        if len(appointment_id) > 256:
            return text("appointment id over 256 characters", 422)
        try:
            cancelled = await cancel_appointment(agent, appointment_id)
        except CalendarProblem as e:
            log.warning("CONSOLE_CANCEL_FAILED id=%.64s error=%s", appointment_id, e)
            return text(str(e), e.status)
        log.info("CONSOLE_APPOINTMENT_CANCELLED id=%s", cancelled.id)
        said = f"{cancelled.service} for {cancelled.name}, {cancelled.start.strftime('%A %-d %B %H:%M')}"
        return redirect("/console/bookings?" + urlencode({"cancelled": said}), 303)
