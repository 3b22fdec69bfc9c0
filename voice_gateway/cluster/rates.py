"""The `/api/` rate limits and the signature penalty box in PostgreSQL, so that several gateways give a
client one budget between them: each bucket is a row in rate_buckets, read FOR UPDATE, changed with the
same arithmetic as the in-process limiters (limits/buckets.py) on the database's clock, and written back
in one transaction. Buckets untouched for an hour are swept (state.py); the listener's connection caps
bound how fast a flood of addresses can add rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voice_gateway.cluster.db import db_now
from voice_gateway.limits.buckets import ALLOWED, Decision, TokenBucket

CREATE = text(
    "INSERT INTO rate_buckets (key, tokens, updated, blocked_until) VALUES (:key, :tokens, :now, NULL) "
    "ON CONFLICT (key) DO NOTHING"
)
LOCK = text("SELECT tokens, updated, blocked_until FROM rate_buckets WHERE key = :key FOR UPDATE")
SAVE = text(
    "UPDATE rate_buckets SET tokens = :tokens, updated = :updated, blocked_until = :blocked WHERE key = :key"
)
BLOCKED = text(
    "SELECT blocked_until, extract(epoch FROM clock_timestamp())::float8 FROM rate_buckets WHERE key = :key"
)


def _row_key(kind: str, key: str) -> str:
    # Keys hold a client address, which X-Forwarded-For may make long: past the column, a digest.
    full = f"{kind}:{key}"
    return full if len(full) <= 200 else f"{kind}:sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def _locked_bucket(
    conn: AsyncConnection, key: str, per_minute: int
) -> tuple[float, TokenBucket, float | None]:
    """The database's clock, `key`'s bucket (a full one if it had none) locked until the transaction
    ends, and when its penalty box ends (None: not boxed)."""
    now = await db_now(conn)
    await conn.execute(CREATE, {"key": key, "tokens": float(per_minute), "now": now})
    row = (await conn.execute(LOCK, {"key": key})).one()
    return now, TokenBucket(float(per_minute), per_minute / 60.0, row.tokens, row.updated), row.blocked_until


class SharedRates:
    def __init__(self, engine: Callable[[], AsyncEngine]) -> None:
        self._engine = engine

    async def take(self, key: str, per_minute: int) -> Decision:
        """`RateLimiter.check`: one token from `key`'s bucket, or how long until there is one."""
        key = _row_key("rate", key)
        async with self._engine().begin() as conn:
            now, bucket, _ = await _locked_bucket(conn, key, per_minute)
            wait = bucket.take(now)
            await conn.execute(
                SAVE, {"key": key, "tokens": bucket.tokens, "updated": bucket.updated, "blocked": None}
            )
        return ALLOWED if wait == 0.0 else Decision(False, wait)

    async def blocked(self, key: str) -> Decision:
        """`FailureLimiter.check`: whether `key` is in the penalty box (takes no token)."""
        async with self._engine().connect() as conn:
            row = (await conn.execute(BLOCKED, {"key": _row_key("fail", key)})).first()
        if row is None or row[0] is None or row[1] >= row[0]:
            return ALLOWED
        return Decision(False, float(row[0] - row[1]))

    async def failed(self, key: str, per_minute: int) -> bool:
        """`FailureLimiter.record_failure`: True when this failure put `key` in the penalty box."""
        key = _row_key("fail", key)
        async with self._engine().begin() as conn:
            now, bucket, blocked_until = await _locked_bucket(conn, key, per_minute)
            boxed = bucket.take(now) != 0.0
            if boxed:  # one whole minute of silence from a key that keeps failing, as in FailureLimiter
                bucket.tokens = 0.0
                blocked_until = now + bucket.seconds_to_full
            await conn.execute(
                SAVE,
                {"key": key, "tokens": bucket.tokens, "updated": bucket.updated, "blocked": blocked_until},
            )
        return boxed
