"""Token buckets keyed by client, sans-IO: every call takes `now` (seconds, monotonic) from the caller.

No clock, no asyncio, no web framework here, so the arithmetic is tested synchronously with made-up times.
Two shapes are built on one bucket:

- `RateLimiter`: each request takes a token; an empty bucket refuses with the wait until the next token.
- `FailureLimiter`: only failures take tokens; a failure that finds the bucket empty puts the key in a
  penalty box for one full refill, during which even good requests are refused (an attacker guessing
  signatures should not get to interleave valid-looking traffic).

Both keep at most `max_keys` keys, dropping the least recently used, so a flood of distinct keys
(random tokens, spoofed addresses) costs bounded memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_MAX_KEYS = 10_000


@dataclass(slots=True)
class TokenBucket:
    """`capacity` tokens, refilled continuously at `per_minute` a minute."""

    capacity: float
    refill_per_s: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, per_minute: int, now: float) -> TokenBucket:
        return cls(float(per_minute), per_minute / 60.0, float(per_minute), now)

    def refill(self, now: float) -> None:
        # A clock that steps backwards (it should not, being monotonic) must never mint tokens.
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_s)
        self.updated = max(self.updated, now)

    def take(self, now: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.refill_per_s

    @property
    def seconds_to_full(self) -> float:
        return (self.capacity - self.tokens) / self.refill_per_s


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up and at least 1, as `Retry-After` requires."""
        return str(max(1, math.ceil(self.retry_after_s)))


ALLOWED = Decision(True)


class _Buckets:
    def __init__(self, per_minute: int, max_keys: int) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def bucket(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket.full(self.per_minute, now)
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimiter:
    """At most `per_minute` requests a minute per key, with bursts up to `per_minute`."""

    def __init__(self, per_minute: int, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._buckets = _Buckets(per_minute, max_keys)

    def check(self, key: str, now: float) -> Decision:
        wait = self._buckets.bucket(key, now).take(now)
        return ALLOWED if wait == 0.0 else Decision(False, wait)

    def __len__(self) -> int:
        return len(self._buckets)


class FailureLimiter:
    """At most `per_minute` failures a minute per key; past that, the key is refused until refilled."""

    def __init__(self, per_minute: int, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._buckets = _Buckets(per_minute, max_keys)
        self._blocked_until: OrderedDict[str, float] = OrderedDict()
        self._max_keys = max_keys

    def check(self, key: str, now: float) -> Decision:
        """Whether a request from `key` may be served at all (takes no token)."""
        until = self._blocked_until.get(key)
        if until is None:
            return ALLOWED
        if now >= until:
            del self._blocked_until[key]
            return ALLOWED
        return Decision(False, until - now)

    def record_failure(self, key: str, now: float) -> bool:
        """Count one failure; True when this one put `key` in the penalty box."""
        bucket = self._buckets.bucket(key, now)
        if bucket.take(now) == 0.0:
            return False
        # Blocked until the bucket is full again: one whole minute of silence from a key that keeps failing.
        bucket.tokens = 0.0
        self._blocked_until[key] = now + bucket.seconds_to_full
        self._blocked_until.move_to_end(key)
        while len(self._blocked_until) > self._max_keys:
            self._blocked_until.popitem(last=False)
        return True
