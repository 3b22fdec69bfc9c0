"""The calendar the agent keeps itself when CALENDAR_URL is unset: rows in a database (SQLite in
AGENT_DATA_DIR by default, PostgreSQL by AGENT_DATABASE_URL), published read-only by the gateway's
iCalendar feed and shown in its console.

Every write runs in one transaction that first takes the write lock (BEGIN IMMEDIATE on SQLite, the lock
row FOR UPDATE on PostgreSQL), re-checks the time is free, then writes: of two calls that want one slot,
exactly one commits it and the other gets SlotTaken. An in-process lock in front saves the database
from queueing writers of the same agent.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, and_, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from agent_service.calendar.base import Appointment, Booking, phone_key
from agent_service.calendar.embedded_schema import appointments as table
from agent_service.calendar.embedded_schema import upgrade, write_lock
from agent_service.errors import AppointmentNotFound, CalendarUnavailable, SlotTaken
from agent_service.scheduling import Interval


def database_url(url: str, data_dir: Path) -> str:
    """SQLAlchemy's async URL for AGENT_DATABASE_URL (`sqlite:///…`, `postgresql://…`); empty: a SQLite
    file in AGENT_DATA_DIR."""
    raw = url or f"sqlite:///{data_dir / 'calendar.sqlite3'}"
    parsed = make_url(
        raw.replace("postgres://", "postgresql://", 1) if raw.startswith("postgres://") else raw
    )
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"expected sqlite:///path or postgresql://…, got a {parsed.get_backend_name()} URL")


class EmbeddedCalendar:
    name = "embedded"

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        full = make_url(url)
        if full.get_backend_name() == "sqlite" and full.database not in (None, "", ":memory:"):
            Path(str(full.database)).parent.mkdir(parents=True, exist_ok=True)
        self._engine: AsyncEngine = create_async_engine(full, pool_pre_ping=True)
        self._sqlite = full.get_backend_name() == "sqlite"
        if self._sqlite:
            event.listen(self._engine.sync_engine, "connect", _sqlite_connect)
            event.listen(self._engine.sync_engine, "begin", _sqlite_begin)
        self._timeout_s = timeout_s
        self._writing = asyncio.Lock()
        self._ready = False

    async def open(self) -> int:
        """Create or upgrade the tables (safe with several agents starting at once); the version found."""
        async with self._transaction() as conn:
            found = await conn.run_sync(upgrade)
        self._ready = True
        return found

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with asyncio.timeout(self._timeout_s), self._engine.begin() as conn:
                yield conn
        except (OperationalError, DBAPIError, OSError, TimeoutError) as e:
            raise CalendarUnavailable(f"the calendar database failed: {_reason(e)}") from None
        except SQLAlchemyError as e:
            raise CalendarUnavailable(
                f"the calendar database failed: {_reason(e)}", retryable=False
            ) from None

    async def _ensure(self) -> None:
        if not self._ready:
            await self.open()

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        return [a.interval() for a in await self.appointments(start, end, overlapping=True)]

    async def appointments(
        self, start: datetime, end: datetime, *, overlapping: bool = False
    ) -> list[Appointment]:
        await self._ensure()
        lo, hi = _epoch(start), _epoch(end)
        begins = table.c.ends_at > lo if overlapping else table.c.starts_at >= lo
        query = select(table).where(and_(table.c.status == "booked", begins, table.c.starts_at < hi))
        async with self._transaction() as conn:
            rows = (await conn.execute(query.order_by(table.c.starts_at))).all()
        return [_appointment(row) for row in rows]

    async def find(self, phone: str, after: datetime, before: datetime) -> list[Appointment]:
        await self._ensure()
        key = phone_key(phone)
        if not key:
            return []
        query = select(table).where(
            and_(
                table.c.status == "booked",
                table.c.phone_key == key,
                table.c.starts_at >= _epoch(after),
                table.c.starts_at < _epoch(before),
            )
        )
        async with self._transaction() as conn:
            rows = (await conn.execute(query.order_by(table.c.starts_at))).all()
        return [_appointment(row) for row in rows]

    async def create(self, booking: Booking) -> Appointment:
        await self._ensure()
        now, lo, hi = int(time.time()), _epoch(booking.start), _epoch(booking.end)
        values: dict[str, Any] = {
            "id": f"{uuid.uuid4()}@agentlocator",
            "starts_at": lo,
            "ends_at": hi,
            "name": booking.name[:200],
            "phone": booking.phone[:40],
            "phone_key": phone_key(booking.phone),
            "service": booking.service[:200],
            "source": booking.source[:128],
            "channel": booking.channel[:16],
            "status": "booked",
            "created_at": now,
            "updated_at": now,
        }
        async with self._writing, self._transaction() as conn:
            await self._lock(conn)
            await self._check_free(conn, lo, hi, None)
            await conn.execute(table.insert().values(**values))
        return _appointment(values)

    async def move(self, appointment_id: str, start: datetime, end: datetime) -> Appointment:
        await self._ensure()
        async with self._writing, self._transaction() as conn:
            await self._lock(conn)
            row = await self._booked(conn, appointment_id)
            await self._check_free(conn, _epoch(start), _epoch(end), appointment_id)
            changes = {"starts_at": _epoch(start), "ends_at": _epoch(end), "updated_at": int(time.time())}
            await conn.execute(table.update().where(table.c.id == appointment_id).values(**changes))
        return _appointment({**row._asdict(), **changes})

    async def cancel(self, appointment_id: str) -> Appointment:
        await self._ensure()
        async with self._writing, self._transaction() as conn:
            await self._lock(conn)
            row = await self._booked(conn, appointment_id)
            changes = {"status": "cancelled", "updated_at": int(time.time())}
            await conn.execute(table.update().where(table.c.id == appointment_id).values(**changes))
        return _appointment(row)

    async def _lock(self, conn: AsyncConnection) -> None:
        if not self._sqlite:  # SQLite took its write lock at BEGIN IMMEDIATE
            await conn.execute(select(write_lock.c.id).where(write_lock.c.id == 1).with_for_update())

    async def _check_free(self, conn: AsyncConnection, lo: int, hi: int, moving: str | None) -> None:
        clash = and_(table.c.status == "booked", table.c.starts_at < hi, table.c.ends_at > lo)
        if moving is not None:
            clash = and_(clash, table.c.id != moving)
        if (await conn.execute(select(table.c.id).where(clash).limit(1))).first() is not None:
            raise SlotTaken("that time has just been taken")

    async def _booked(self, conn: AsyncConnection, appointment_id: str) -> Row[Any]:
        query = select(table).where(and_(table.c.id == appointment_id, table.c.status == "booked"))
        row = (await conn.execute(query)).first()
        if row is None:
            raise AppointmentNotFound(f"no booked appointment {appointment_id!r}")
        return row

    async def close(self) -> None:
        await self._engine.dispose()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is off, so BEGIN IMMEDIATE (below) is the one that starts
    # each transaction: it takes SQLite's write lock up front, and the busy timeout makes a second
    # writer wait for it instead of failing.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The busy timeout first: switching to WAL takes a lock too, and must wait for another agent's.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _epoch(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("calendar times must be aware")
    return int(at.timestamp())


def _appointment(row: Row[Any] | dict[str, Any]) -> Appointment:
    r = row._asdict() if isinstance(row, Row) else row
    return Appointment(
        id=r["id"],
        start=datetime.fromtimestamp(r["starts_at"], UTC),
        end=datetime.fromtimestamp(r["ends_at"], UTC),
        name=r["name"],
        phone=r["phone"],
        service=r["service"],
        source=r["source"],
        channel=r["channel"],
    )


def _reason(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e) or type(e).__name__
    return text.splitlines()[0][:200]
