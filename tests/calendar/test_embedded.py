"""The embedded calendar's database: created once however many agents start together, versioned, and a
database that cannot be reached is CalendarUnavailable."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from agent_service.calendar.base import Booking
from agent_service.calendar.embedded import EmbeddedCalendar, database_url
from agent_service.calendar.embedded_schema import VERSION
from agent_service.errors import CalendarError, CalendarUnavailable

TEN = datetime(2026, 12, 1, 10, tzinfo=UTC)


def booking() -> Booking:
    return Booking(
        TEN, TEN + timedelta(minutes=30), "John Smith", "+447700900123", "check-up", "chat-1", "whatsapp"
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_agents_starting_together_create_the_tables_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_url(request.getfixturevalue("postgres_url") if kind == "postgresql" else "", tmp_path)
    agents = [EmbeddedCalendar(url) for _ in range(8)]
    found = await asyncio.gather(*(a.open() for a in agents))
    assert sorted(found) == [0, *([VERSION] * 7)]  # one created it; the others found it made
    await agents[0].create(booking())
    assert len(await agents[3].appointments(TEN, TEN + timedelta(hours=1))) == 1
    for agent in agents:
        await agent.close()


def test_the_default_database_is_a_file_in_the_data_dir(tmp_path: Path) -> None:
    assert database_url("", tmp_path) == f"sqlite+aiosqlite:///{tmp_path}/calendar.sqlite3"
    assert database_url("postgres://u:p@db:5432/agent", tmp_path) == "postgresql+asyncpg://u:p@db:5432/agent"
    with pytest.raises(ValueError, match="sqlite"):
        database_url("mysql://db/agent", tmp_path)


async def test_a_database_from_a_newer_agent_is_left_alone(tmp_path: Path) -> None:
    calendar = EmbeddedCalendar(database_url("", tmp_path))
    await calendar.open()
    await calendar.close()
    engine = create_engine(f"sqlite:///{tmp_path}/calendar.sqlite3")
    with engine.begin() as conn:
        conn.execute(text("UPDATE calendar_schema SET version = :v"), {"v": VERSION + 1})
    engine.dispose()
    newer = EmbeddedCalendar(database_url("", tmp_path))
    with pytest.raises(CalendarError, match="version 2; this agent knows 1"):
        await newer.open()
    await newer.close()


async def test_an_unreachable_database_is_unavailable_and_books_nothing(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    calendar = EmbeddedCalendar(
        database_url(f"postgresql://agent:pw@127.0.0.1:{port}/agent", tmp_path), timeout_s=5
    )
    with pytest.raises(CalendarUnavailable) as raised:
        await calendar.create(booking())
    assert raised.value.retryable
    await calendar.close()
