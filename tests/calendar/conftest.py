"""A real CalDAV server (Radicale) on loopback per test, and the embedded calendar on SQLite."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from agent_service.calendar.caldav_calendar import CalDavCalendar
from agent_service.calendar.embedded import EmbeddedCalendar, database_url
from tests.procs import ServerProcess, python_module

LONDON = ZoneInfo("Europe/London")
USER, PASSWORD = "clinic", "radicale-test-password"


class Radicale:
    def __init__(self, tmp: Path) -> None:
        users = tmp / "users"
        users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        self.process = ServerProcess(
            python_module("tests.calendar.radicale_server", str(tmp / "collections"), str(users)),
            {},
            "RADICALE_LISTENING",
        ).start()
        self.url = f"http://127.0.0.1:{self.process.port}/{USER}/appointments/"
        mkcalendar = httpx.request("MKCALENDAR", self.url, auth=(USER, PASSWORD), timeout=10)
        assert mkcalendar.status_code == 201, mkcalendar.text

    def calendar(self, *, timeout_s: float = 5.0, password: str = PASSWORD) -> CalDavCalendar:
        return CalDavCalendar(self.url, USER, password, timeout_s=timeout_s, zone=LONDON)

    def pause(self) -> None:
        """Stopped, not dead: connections are accepted by the kernel and never answered (a slow server)."""
        self.process.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process.running:
            self.resume()
            self.process.stop()


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = Radicale(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedCalendar]:
    calendar = EmbeddedCalendar(database_url("", tmp_path))
    await calendar.open()
    try:
        yield calendar
    finally:
        await calendar.close()


class Backing:
    """One calendar store; `open()` is one more agent's view of it (its own client and locks)."""

    def __init__(self, kind: str, tmp: Path, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self.radicale: Radicale | None = None
        self._opened: list[CalDavCalendar | EmbeddedCalendar] = []
        if kind == "caldav":
            self.radicale = Radicale(tmp)
        elif kind == "postgresql":
            self.url = database_url(request.getfixturevalue("postgres_url"), tmp)
        else:
            self.url = database_url("", tmp)

    async def open(self, timeout_s: float = 5.0) -> CalDavCalendar | EmbeddedCalendar:
        calendar: CalDavCalendar | EmbeddedCalendar
        if self.radicale is not None:
            calendar = self.radicale.calendar(timeout_s=timeout_s)
        else:
            calendar = EmbeddedCalendar(self.url, timeout_s=timeout_s)
            await calendar.open()
        self._opened.append(calendar)
        return calendar

    async def close(self) -> None:
        for calendar in self._opened:
            await calendar.close()
        if self.radicale is not None:
            self.radicale.stop()


@pytest.fixture(params=["caldav", "sqlite", "postgresql"])
async def backing(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backing]:
    store = Backing(request.param, tmp_path, request)
    try:
        yield store
    finally:
        await store.close()
