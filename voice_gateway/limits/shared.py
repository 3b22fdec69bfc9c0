"""The limiters' buckets when they live outside this process (cluster/rates.py, on PostgreSQL).

A database that fails to answer lets the request through, logged and counted: the limits keep abuse
down, and an outage of them must not become an outage of the webhooks that take calls.
"""

from __future__ import annotations

import logging
from typing import Protocol

from voice_gateway.limits.buckets import ALLOWED, Decision

log = logging.getLogger("voice_gateway.limits")


class SharedBuckets(Protocol):
    async def take(self, key: str, per_minute: int) -> Decision: ...

    async def blocked(self, key: str) -> Decision: ...

    async def failed(self, key: str, per_minute: int) -> bool: ...


class SharedLimits:
    def __init__(self, buckets: SharedBuckets, on_failure: FailureCounter) -> None:
        self._buckets = buckets
        self._on_failure = on_failure

    async def take(self, key: str, per_minute: int) -> Decision:
        try:
            return await self._buckets.take(key, per_minute)
        except Exception as exc:
            self._failed("take", exc)
            return ALLOWED

    async def blocked(self, key: str) -> Decision:
        try:
            return await self._buckets.blocked(key)
        except Exception as exc:
            self._failed("blocked", exc)
            return ALLOWED

    async def failed(self, key: str, per_minute: int) -> bool:
        try:
            return await self._buckets.failed(key, per_minute)
        except Exception as exc:
            self._failed("failed", exc)
            return False

    def _failed(self, what: str, exc: Exception) -> None:
        self._on_failure(what)
        log.error("SHARED_LIMITS_FAILED what=%s error=%r", what, exc)


class FailureCounter(Protocol):
    def __call__(self, what: str) -> None: ...
