"""The gateway presents the agent's appointments: a booking made over the agent's Chat RPC (a WhatsApp
conversation) shows in the console's Bookings page and in the read-only iCalendar feed at the secret
URL, and the console's Cancel (behind the session's CSRF token) removes it from the agent's calendar.
A real agent process with its embedded calendar; the gateway app on Quart's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import icalendar
import pytest
from agentlocator.agent.v1 import agent_pb2
from quart.typing import TestClientProtocol as Client

from tests.agent_service.client import agent_stub
from tests.conftest import AgentFactory
from tests.console.test_console_auth import BROWSER, _settings, _sign_in
from tests.procs import ServerProcess
from voice_gateway.app import create_app

TOKEN = "feed-token-0123456789abcdef"
CALLER = "+447700900123"


async def chat(port: int, *texts: str) -> list[str]:
    answers = []
    async with agent_stub(port) as stub:
        for text in texts:
            request = agent_pb2.ChatRequest(
                conversation_id="wa-447700900123",
                text=text,
                channel=agent_pb2.CHANNEL_WHATSAPP,
                from_address=CALLER,
            )
            answers.append((await stub.Chat(request, timeout=30)).text)
    return answers


@pytest.fixture
def agent(start_agent: AgentFactory) -> ServerProcess:
    return start_agent()


@pytest.fixture
async def console(tmp_path: Path, agent: ServerProcess) -> AsyncIterator[Client]:
    settings = _settings(tmp_path, agent_addr=f"127.0.0.1:{agent.port}", calendar_feed_token=TOKEN)
    app = create_app(settings)
    async with app.test_app() as running:
        yield running.test_client()


async def test_a_chat_booking_is_in_the_console_and_the_feed_and_the_console_cancels_it(
    agent: ServerProcess, console: Client
) -> None:
    answers = await chat(
        agent.port,
        "Hi, can I book a check-up next Tuesday at 10am?",
        "10 am please",
        "Jo Bloggs",
        "yes",
        "yes",
    )
    assert answers[-1].startswith("You're booked in for Tuesday"), answers
    agent.wait_for("APPOINTMENT_BOOKED conversation=wa-447700900123")

    feed = await console.get(f"/calendar/{TOKEN}.ics")
    assert feed.status_code == 200 and feed.content_type.startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(await feed.get_data(as_text=True)).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Check-up: Jo Bloggs" and CALLER in str(event["DESCRIPTION"])
    assert event.decoded("dtstart").astimezone(icalendar.timezone.tzp.timezone("Europe/London")).hour == 10
    for wrong in ("feed-token-0123456789abcdeX", "x"):
        assert (await console.get(f"/calendar/{wrong}.ics")).status_code == 404

    csrf = await _sign_in(console)
    page = await (await console.get("/console/bookings", headers=BROWSER)).get_data(as_text=True)
    assert 'href="/console/bookings" aria-current="page"' in page
    assert "check-up" in page and "Jo Bloggs" in page and f'href="tel:{CALLER}"' in page
    assert "10:00–10:30" in page  # in the business's time zone
    action = page.split('<form method="post" action="', 2)[2].split('"', 1)[0]
    assert action.startswith("/console/bookings/") and action.endswith("/cancel")
    forged = await console.post(action, form={"csrf_token": "forged"})
    assert forged.status_code == 403
    done = await console.post(action, form={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["Location"].startswith("/console/bookings?cancelled=")
    after = await (await console.get("/console/bookings", headers=BROWSER)).get_data(as_text=True)
    assert "Jo Bloggs" not in after.split("</p>", 2)[-1] and "No upcoming bookings." in after
    again = await console.post(action, form={"csrf_token": csrf})
    assert again.status_code == 404
    empty = icalendar.Calendar.from_ical(
        await (await console.get(f"/calendar/{TOKEN}.ics")).get_data(as_text=True)
    )
    assert empty.walk("VEVENT") == []


async def test_without_a_feed_token_there_is_no_feed(tmp_path: Path, agent: ServerProcess) -> None:
    app = create_app(_settings(tmp_path, agent_addr=f"127.0.0.1:{agent.port}"))
    async with app.test_app() as running:
        assert (await running.test_client().get(f"/calendar/{TOKEN}.ics")).status_code == 404


async def test_an_agent_that_is_down_is_said_plainly(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, agent_addr="127.0.0.1:9", calendar_feed_token=TOKEN))
    async with app.test_app() as running:
        client = running.test_client()
        assert (await client.get(f"/calendar/{TOKEN}.ics")).status_code == 503
        signed_out = await client.get("/console/bookings", headers=BROWSER)
        assert signed_out.status_code == 303 and signed_out.headers["Location"] == "/console/login"
        assert (await client.post("/console/bookings/x/cancel", form={})).status_code == 401
        await _sign_in(client)
        page = await client.get("/console/bookings", headers=BROWSER)
        assert page.status_code == 503
        assert "the agent&#39;s calendar could not be reached" in await page.get_data(as_text=True)


async def test_the_rpcs_check_their_arguments(agent: ServerProcess) -> None:
    async with agent_stub(agent.port) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as backwards:
            await stub.ListAppointments(agent_pb2.ListAppointmentsRequest(from_ms=2000, to_ms=1000))
        assert backwards.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.CancelAppointment(agent_pb2.CancelAppointmentRequest(id="no-such-id"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
