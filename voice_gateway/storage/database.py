"""Which database, and how we talk to it: async drivers, SQLite pragmas, one timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def iso_utc(raw: str | None) -> str | None:
    """A provider's timestamp in our fixed-width UTC form; None when it is missing or unreadable."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return (
        (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
        .astimezone(UTC)
        .isoformat(timespec="microseconds")
    )


def async_url(url: str) -> str:
    """SQLAlchemy's async driver URL for a plain `sqlite:///…` or `postgresql://…` setting."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def open_engine(url: str) -> AsyncEngine:
    full = make_url(async_url(url))
    if full.get_backend_name() == "sqlite" and full.database not in (None, "", ":memory:"):
        Path(str(full.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(full, pool_pre_ping=True)
    if full.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside a writer; the busy timeout makes concurrent writers wait, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def database_problem(url: str) -> str | None:
    """None when `url` answers a query; else one line naming the database (password hidden) and why."""
    shown = make_url(async_url(url)).render_as_string(hide_password=True)
    try:
        engine = open_engine(url)
    except Exception as exc:  # a malformed URL or a driver that is not installed
        return f"cannot open DATABASE_URL ({shown}): {exc}"
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"cannot open DATABASE_URL ({shown}): {type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()
    return None
