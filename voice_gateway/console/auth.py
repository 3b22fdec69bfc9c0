"""Console sign-in: server-side sessions behind an opaque cookie, and a CSRF token on every form.

The cookie holds only a random id (HttpOnly, SameSite=Strict, path /console); the session lives in a
`SessionStore` (console/sessions.py): this process's memory, so a restart signs everyone out, or, with
several gateways on PostgreSQL, that database, so every gateway knows it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from voice_gateway.console.sessions import ConsoleSession, MemorySessions, SessionStore

SESSION_COOKIE = "agentlocator_console"
LOGIN_COOKIE = "agentlocator_console_login"
COOKIE_PATH = "/console"
SESSION_TTL_S = 12 * 3600

__all__ = ["COOKIE_PATH", "LOGIN_COOKIE", "SESSION_COOKIE", "ConsoleAuth", "ConsoleSession", "csrf_ok"]


class ConsoleAuth:
    def __init__(
        self,
        secrets_accepted: tuple[str, ...],
        sessions: SessionStore | None = None,
        login_key: bytes | None = None,
    ) -> None:
        self._accepted = tuple(s.encode() for s in secrets_accepted if s)
        self._sessions = sessions or MemorySessions()
        # Signs the pre-login CSRF token, so the login form needs no server-side state; gateways sharing
        # sessions share it too (the form may be posted to another one).
        self._login_key = login_key or secrets.token_bytes(32)

    @property
    def enabled(self) -> bool:
        return bool(self._accepted)

    def password_ok(self, offered: str) -> bool:
        given = offered.encode()
        # Compare against every accepted secret, so timing does not tell which one nearly matched.
        matches = [hmac.compare_digest(given, accepted) for accepted in self._accepted]
        return any(matches)

    async def sign_in(self) -> tuple[str, ConsoleSession]:
        session_id = secrets.token_urlsafe(32)
        session = ConsoleSession(secrets.token_urlsafe(32), time.time() + SESSION_TTL_S)
        await self._sessions.put(_key(session_id), session)
        return session_id, session

    async def session(self, session_id: str | None) -> ConsoleSession | None:
        if not session_id:
            return None
        found = await self._sessions.get(_key(session_id))
        if found is None or found.expires_at < time.time():
            return None
        return found

    async def sign_out(self, session_id: str | None) -> None:
        if session_id:
            await self._sessions.delete(_key(session_id))

    def login_nonce(self) -> str:
        return secrets.token_urlsafe(24)

    def login_csrf(self, nonce: str) -> str:
        return hmac.new(self._login_key, nonce.encode(), hashlib.sha256).hexdigest()

    def login_csrf_ok(self, nonce: str | None, offered: str) -> bool:
        if not nonce:
            return False
        return hmac.compare_digest(self.login_csrf(nonce).encode(), offered.encode())


def csrf_ok(session: ConsoleSession, offered: str) -> bool:
    return hmac.compare_digest(session.csrf_token.encode(), offered.encode())


def _key(session_id: str) -> str:
    # Look sessions up by a hash of the cookie, never the cookie itself.
    return hashlib.sha256(session_id.encode()).hexdigest()
