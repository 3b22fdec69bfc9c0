"""Where the console's sign-in sessions live: this process's memory (one gateway, SQLite), or PostgreSQL
when several gateways share it (cluster/sessions.py), so a session made on one is good on all of them.

Keys are SHA-256 digests of the cookie (console/auth.py), never the cookie itself. Both stores keep at
most `MAX_SESSIONS`, dropping the oldest, and forget expired ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

MAX_SESSIONS = 1000


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    csrf_token: str
    expires_at: float


class SessionStore(Protocol):
    async def put(self, key: str, session: ConsoleSession) -> None: ...

    async def get(self, key: str) -> ConsoleSession | None:
        """The session, even if expired (the caller checks)."""
        ...

    async def delete(self, key: str) -> None: ...


class MemorySessions:
    def __init__(self) -> None:
        self._sessions: dict[str, ConsoleSession] = {}

    async def put(self, key: str, session: ConsoleSession) -> None:
        now = time.time()
        for old in [k for k, s in self._sessions.items() if s.expires_at < now]:
            del self._sessions[old]
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        self._sessions[key] = session

    async def get(self, key: str) -> ConsoleSession | None:
        return self._sessions.get(key)

    async def delete(self, key: str) -> None:
        self._sessions.pop(key, None)
