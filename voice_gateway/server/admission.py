"""Who may open a connection: caps per client address and in total, and a file-descriptor budget.

Sans-IO apart from `raise_fd_limit`: `Admission.admit` is called once per accepted TCP connection, before a
byte is read, and its `Ticket` is released when that connection is lost. Every table here is bounded: the
per-client counts by the connections open, the log bookkeeping by `_MAX_LOGGED` entries a minute.
"""

from __future__ import annotations

import ipaddress
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

from voice_gateway import metrics

log = logging.getLogger("voice_gateway.listener")

# Descriptors kept back from connections for the process's own work: the database, the agent channel,
# outbound HTTP, log files. A quarter of a small limit, at most 1024 of a large one.
_MIN_RESERVE, _MAX_RESERVE = 64, 1024
# Distinct (event, client) pairs logged per minute; past that they are only counted.
_MAX_LOGGED = 1024
_LOG_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """The listener's settings (see `Settings`); 0 turns a connection cap off."""

    header_timeout_s: float = 10.0
    keep_alive_timeout_s: float = 75.0
    max_connections: int = 4096
    max_connections_per_client: int = 512


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # pragma: no cover - refused by the platform: keep the soft one
            pass
    return soft


def fd_budget(fd_limit: int) -> int:
    """How many connections may be open at once, leaving descriptors for everything else."""
    reserve = min(_MAX_RESERVE, max(_MIN_RESERVE, fd_limit // 4))
    return max(1, fd_limit - reserve)


def client_key(host: str) -> str:
    """The address a per-client cap counts: IPv4 as is, IPv6 by its /64 (one subscriber's prefix)."""
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class OncePerMinute:
    """Says whether an (event, client) pair should be logged: once a minute each, in bounded memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._window_start = clock()
        self._seen: set[tuple[str, str]] = set()
        self.suppressed = 0

    def first(self, event: str, client: str) -> bool:
        now = self._clock()
        if now - self._window_start >= _LOG_WINDOW_S:
            if self.suppressed:
                log.warning(
                    "CONNECTION_EVENTS_NOT_LOGGED count=%d (past %d clients a minute)",
                    self.suppressed,
                    _MAX_LOGGED,
                )
            self._window_start, self.suppressed = now, 0
            self._seen.clear()
        key = (event, client)
        if key in self._seen:
            return False
        if len(self._seen) >= _MAX_LOGGED:
            self.suppressed += 1
            return False
        self._seen.add(key)
        return True

    def __len__(self) -> int:
        return len(self._seen)


class Ticket:
    """One admitted connection; `release` (idempotent) frees its place when the connection is lost."""

    __slots__ = ("_admission", "client")

    def __init__(self, admission: Admission, client: str) -> None:
        self._admission: Admission | None = admission
        self.client = client

    def release(self) -> None:
        if self._admission is not None:
            self._admission._release(self.client)
            self._admission = None


class Admission:
    """Counts open connections per client and in total; refuses past a cap, counted and logged."""

    def __init__(
        self, limits: ListenerLimits, fd_limit: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_per_client = limits.max_connections_per_client
        self.max_total = limits.max_connections
        self.fd_budget = fd_budget(fd_limit) if fd_limit is not None else 0
        self.open = 0
        self.per_client: dict[str, int] = {}
        self.logged = OncePerMinute(clock)

    def admit(self, host: str) -> Ticket | None:
        client = client_key(host)
        count = self.per_client.get(client, 0)
        if self.fd_budget and self.open >= self.fd_budget:
            self._refuse("fd_limit", client, self.fd_budget)
            return None
        if self.max_total and self.open >= self.max_total:
            self._refuse("total", client, self.max_total)
            return None
        if self.max_per_client and count >= self.max_per_client:
            self._refuse("per_client", client, self.max_per_client)
            return None
        self.per_client[client] = count + 1
        self.open += 1
        return Ticket(self, client)

    def note_timeout(self, phase: str, client: str) -> None:
        metrics.CONNECTION_TIMEOUTS.labels(phase).inc()
        if phase == "head" and self.logged.first("timeout", client):
            log.info("CONNECTION_TIMEOUT phase=head client=%s (no whole request head in time)", client)

    def _refuse(self, reason: str, client: str, limit: int) -> None:
        metrics.CONNECTIONS_REFUSED.labels(reason).inc()
        if self.logged.first(reason, client):
            log.warning(
                "CONNECTION_REFUSED reason=%s client=%s open=%d client_open=%d limit=%d",
                reason,
                client,
                self.open,
                self.per_client.get(client, 0),
                limit,
            )

    def _release(self, client: str) -> None:
        self.open -= 1
        count = self.per_client[client] - 1
        if count:
            self.per_client[client] = count
        else:
            del self.per_client[client]
