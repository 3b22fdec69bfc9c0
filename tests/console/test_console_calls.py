"""The console's calls: the history searched by number and date a page at a time (bad input named, never
run), and one call's page with its transcript, per-turn latency, and the messages and bookings taken on it.
The gateway app on Quart's test client over a real SQLite file; bookings from a real agent process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agentlocator.agent.v1 import agent_pb2
from quart.typing import TestClientProtocol as Client
from sqlalchemy import update

from tests.agent_service.client import agent_stub
from tests.appointments.test_bookings_presented import CALLER
from tests.conftest import AgentFactory
from tests.console.test_console_auth import BROWSER, _settings, _sign_in
from tests.procs import ServerProcess
from voice_gateway.app import create_app
from voice_gateway.console.calls import PAGE_SIZE, parse_search
from voice_gateway.messages.model import TakenMessage
from voice_gateway.storage.calls import CallLog, CallQuery
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.storage.schema import calls, open_database

NUMBERS = ("+15005550006", "+447700900123")


async def _seed(url: str, rows: list[tuple[str, str, str, str]]) -> None:
    """(call_sid, caller, started_at, channel) rows, each with a line of transcript."""
    engine = await open_database(url)
    log = CallLog(engine)
    for sid, caller, started_at, channel in rows:
        await log.started(sid, "MZ" + sid[2:], caller, channel)
        async with engine.begin() as conn:
            await conn.execute(update(calls).where(calls.c.call_sid == sid).values(started_at=started_at))
        await log.said(sid, "user", f"hello from {caller or 'the browser'}")
    await engine.dispose()


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[Client, str]]:
    settings = _settings(tmp_path, agent_addr="127.0.0.1:9")
    app = create_app(settings)
    async with app.test_app() as running:
        yield running.test_client(), settings.database_url


def test_search_input_is_checked_field_by_field() -> None:
    search, problems = parse_search(
        {"number": "+44 (7700) 900-123", "from": "2026-11-01", "to": "2026-11-30"}
    )
    assert problems == {} and search.number == "+447700900123"
    assert search.query() == CallQuery("447700900123", "2026-11-01", "2026-12-01", 0, PAGE_SIZE + 1)
    _, problems = parse_search({"number": "'; drop table calls", "from": "yesterday", "to": "2026-13-01"})
    assert set(problems) == {"number", "from", "to"}
    assert problems["from"] == "From: a date as YYYY-MM-DD"
    _, problems = parse_search({"from": "2026-11-30", "to": "2026-11-01", "page": "0"})
    assert problems == {
        "to": "To: on or after From",
        "page": "Page: a whole number from 1 to 400 (narrow the dates to go further back)",
    }
    for page in ("-1", "1e3", "٣", "99999"):
        assert "page" in parse_search({"page": page})[1]


async def test_history_finds_calls_by_number_and_dates_and_pages_through_them(
    console: tuple[Client, str],
) -> None:
    client, url = console
    day = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    rows = [
        (
            f"CA{i:032x}",
            "+447700900123" if i % 2 else "+15005550006",
            (day + timedelta(hours=i)).isoformat(),
            "phone",
        )
        for i in range(PAGE_SIZE + 5)
    ]
    rows.append(("BR" + "b" * 32, "", "2026-11-20T10:00:00.000000+00:00", "browser"))
    await _seed(url, rows)
    await _sign_in(client)

    first = await (await client.get("/console/history", headers=BROWSER)).get_data(as_text=True)
    assert first.count('<article class="card call') == PAGE_SIZE
    assert "Browser call from the console" in first and "browser (console)" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = await (await client.get("/console/history?page=2", headers=BROWSER)).get_data(as_text=True)
    assert second.count('<article class="card call') == 6 and 'rel="prev"' in second

    found = await client.get("/console/history?number=7700+900123&to=2026-11-02", headers=BROWSER)
    page = await found.get_data(as_text=True)
    # Odd hours on 2 November only: 09:00 + 1, 3, … 13 h (the day ends at midnight UTC).
    assert page.count('<article class="card call') == 7 and "+15005550006" not in page
    assert 'value="7700900123"' in page  # the form keeps what was searched

    empty = await client.get("/console/history?from=2027-01-01", headers=BROWSER)
    assert "No calls match." in await empty.get_data(as_text=True)

    bad = await client.get("/console/history?number=abc&from=2026-02-30", headers=BROWSER)
    text = await bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'role="alert"' in text
    assert "Number: digits only" in text and "From: a date as YYYY-MM-DD" in text
    assert '<article class="card call' not in text


async def test_call_pages_and_search_are_behind_the_sign_in(console: tuple[Client, str]) -> None:
    client, _ = console
    for path in ("/console/history?number=1", "/console/calls/CA1", "/console/talk"):
        response = await client.get(path, headers=BROWSER)
        assert response.status_code == 303 and response.headers["Location"] == "/console/login"
        assert (await client.get(path)).status_code == 401


async def test_a_missing_call_is_a_404_page(console: tuple[Client, str]) -> None:
    client, _ = console
    await _sign_in(client)
    response = await client.get("/console/calls/CA" + "0" * 32, headers=BROWSER)
    assert response.status_code == 404
    assert "No call CA" in await response.get_data(as_text=True)


async def test_a_calls_page_shows_its_transcript_latency_message_and_booking_together(
    tmp_path: Path, start_agent: AgentFactory
) -> None:
    agent: ServerProcess = start_agent()
    settings = _settings(tmp_path, agent_addr=f"127.0.0.1:{agent.port}")
    call_sid = "CA" + "5" * 32
    other = "CA" + "6" * 32
    engine = await open_database(settings.database_url)
    log = CallLog(engine)
    for sid in (call_sid, other):
        await log.started(sid, "MZ" + sid[2:], "+447700900123")
    await log.said(call_sid, "user", "Can I book a check-up?")
    await log.said(call_sid, "agent", "You're booked in.")
    await log.turn(call_sid, {"endpointing": 300, "stt": 120, "llm": 410, "tts": 90, "total": 920})
    await log.ended(call_sid, "caller hung up")
    messages = OwnerMessageStore(engine)
    for sid, reason in ((call_sid, "about my crown"), (other, "another call's message")):
        taken = TakenMessage(sid[-8:], "voice", sid, "+447700900123", "Jo", "+447700900123", True, reason, "")
        await messages.add(taken, notify=False)
    await engine.dispose()
    # The agent books it on this call (the appointment's source is the conversation it was made on).
    answers = await chat_on(agent.port, call_sid)
    assert answers[-1].startswith("You're booked in for Tuesday"), answers

    app = create_app(settings)
    async with app.test_app() as running:
        client = running.test_client()
        await _sign_in(client)
        response = await client.get(f"/console/calls/{call_sid}", headers=BROWSER)
        page = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Can I book a check-up?" in page and "You&#39;re booked in." in page
    assert "endpointing 300 ms, stt 120 ms, llm 410 ms, tts 90 ms; total 920 ms" in page
    assert "about my crown" in page and "another call" not in page
    assert "Bookings made (1)" in page and "Jo Bloggs" in page and "10:00" in page
    assert "Messages taken (1)" in page and "caller hung up" in page


async def chat_on(port: int, conversation_id: str) -> list[str]:
    texts = ("Hi, can I book a check-up next Tuesday at 10am?", "10 am please", "Jo Bloggs", "yes", "yes")
    answers = []
    async with agent_stub(port) as stub:
        for text in texts:
            request = agent_pb2.ChatRequest(
                conversation_id=conversation_id,
                text=text,
                channel=agent_pb2.CHANNEL_VOICE,
                from_address=CALLER,
            )
            answers.append((await stub.Chat(request, timeout=30)).text)
    return answers
