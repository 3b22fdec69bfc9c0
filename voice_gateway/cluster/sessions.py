"""The console's sessions in PostgreSQL (console_sessions), for several gateways: signed in on one, signed
in on all; signed out on one, out everywhere. Expired rows are swept with the heartbeat (state.py)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.console.sessions import MAX_SESSIONS, ConsoleSession

PUT = text(
    "INSERT INTO console_sessions (key, csrf_token, expires_at) VALUES (:key, :csrf, :expires) "
    "ON CONFLICT (key) DO UPDATE SET csrf_token = :csrf, expires_at = :expires"
)
# Past the bound, the sessions that expire first (the oldest) make room.
TRIM = text(
    "DELETE FROM console_sessions WHERE key IN "
    "(SELECT key FROM console_sessions ORDER BY expires_at DESC OFFSET :keep)"
)
GET = text("SELECT csrf_token, expires_at FROM console_sessions WHERE key = :key")
DELETE = text("DELETE FROM console_sessions WHERE key = :key")


class PgSessions:
    def __init__(self, engine: Callable[[], AsyncEngine]) -> None:
        self._engine = engine

    async def put(self, key: str, session: ConsoleSession) -> None:
        async with self._engine().begin() as conn:
            await conn.execute(PUT, {"key": key, "csrf": session.csrf_token, "expires": session.expires_at})
            await conn.execute(TRIM, {"keep": MAX_SESSIONS})

    async def get(self, key: str) -> ConsoleSession | None:
        async with self._engine().connect() as conn:
            row = (await conn.execute(GET, {"key": key})).first()
        return None if row is None else ConsoleSession(row.csrf_token, row.expires_at)

    async def delete(self, key: str) -> None:
        async with self._engine().begin() as conn:
            await conn.execute(DELETE, {"key": key})
