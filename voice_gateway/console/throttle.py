"""Password guessing at `/console/login`, slowed per client address and in total (sans-IO: `now` is given).

Every attempt takes a token before the password is checked, so guesses sent in parallel are counted
too. Per address, `CONSOLE_LOGIN_LIMIT_PER_MINUTE` attempts a minute; across all addresses,
`CONSOLE_LOGIN_GLOBAL_LIMIT_PER_MINUTE`, which is what stops a guesser with many addresses (the price:
during such an attack the operator waits too; a signed-in session is not affected). An IPv6 client
is keyed by its /64, which one subscriber usually holds whole. Memory is bounded: at most
`max_addresses` buckets, the least recently seen dropped first.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass

from prometheus_client import Counter

from voice_gateway.limits.buckets import Decision, RateLimiter

CONSOLE_LOGINS = Counter(
    "agentlocator_console_logins",
    "Console sign-in attempts by result",
    ["result"],  # ok, wrong_password, expired_form, throttled_address, throttled_global
)
MAX_ADDRESSES = 10_000
LOG_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Refusal:
    scope: str  # "address" or "global"
    decision: Decision


class LoginThrottle:
    def __init__(
        self, per_address_per_minute: int, global_per_minute: int, max_addresses: int = MAX_ADDRESSES
    ) -> None:
        self._per_address = (
            RateLimiter(per_address_per_minute, max_addresses) if per_address_per_minute else None
        )
        self._global = RateLimiter(global_per_minute, 1) if global_per_minute else None
        self._logged: OrderedDict[str, float] = OrderedDict()
        self._max_addresses = max_addresses

    @property
    def tracked_addresses(self) -> int:
        return max(len(self._per_address) if self._per_address else 0, len(self._logged))

    def check(self, address: str, now: float) -> Refusal | None:
        """Take one attempt for `address`; a refusal says which limit and how long to wait."""
        key = client_key(address)
        if self._per_address is not None:
            decision = self._per_address.check(key, now)
            if not decision.allowed:
                return Refusal("address", decision)
        # An address already refused above takes nothing from everyone's allowance.
        if self._global is not None:
            decision = self._global.check("*", now)
            if not decision.allowed:
                return Refusal("global", decision)
        return None

    def first_in_a_while(self, address: str, now: float) -> bool:
        """True at most once a minute per address: a flood of refusals is logged, not the log flooded."""
        key = client_key(address)
        last = self._logged.get(key)
        if last is not None and now - last < LOG_EVERY_S:
            return False
        self._logged[key] = now
        self._logged.move_to_end(key)
        while len(self._logged) > self._max_addresses:
            self._logged.popitem(last=False)
        return True


def client_key(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
