"""Which state the gateway keeps where, chosen once by DATABASE_URL (for services.py): with SQLite, the
in-process call cap, registry and limiters as they are; with PostgreSQL, their shared forms."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.calls.limits import CallCap, CallLines
from voice_gateway.cluster.db import FAILURES, is_postgres
from voice_gateway.cluster.rates import SharedRates
from voice_gateway.cluster.sessions import PgSessions
from voice_gateway.cluster.state import SharedState
from voice_gateway.console.sessions import SessionStore
from voice_gateway.limits.http_guard import AbuseGuard
from voice_gateway.limits.shared import SharedLimits
from voice_gateway.settings import Settings


def shared_state(
    settings: Settings, engine: Callable[[], AsyncEngine], guard: AbuseGuard, ai: AiMode | None
) -> tuple[CallLines, SharedState | None]:
    """The call lines, and the shared state to start and stop with the engine (None: one process)."""
    if not is_postgres(settings.database_url):
        return CallCap(settings.max_concurrent_calls), None
    state = SharedState(engine, settings)
    guard.shared = SharedLimits(SharedRates(engine), lambda what: FAILURES.labels("limits_" + what).inc())
    if ai is not None:
        registry = ai.registry
        registry.others = state
        registry.feeds = state.relay_feeds(registry)
    return state.lines, state


def console_sessions(
    settings: Settings, engine: Callable[[], AsyncEngine]
) -> tuple[SessionStore | None, bytes | None]:
    """The console's session store and login-form key (None, None: this process's own)."""
    if not is_postgres(settings.database_url):
        return None, None
    # Every gateway derives the same key from the secret they already share, so a login form served by
    # one may be posted to another.
    key = hmac.new(settings.call_token_secret.encode(), b"console-login-csrf", hashlib.sha256).digest()
    return PgSessions(engine), key
