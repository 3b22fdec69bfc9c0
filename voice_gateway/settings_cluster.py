"""Settings for several gateways sharing one PostgreSQL, and for a gateway's drain on SIGTERM.

Read by `Settings.from_env` through its reader; kept apart so `settings.py` stays short enough to read.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from voice_gateway.settings_values import positive_float

T = TypeVar("T")

DEFAULT_DRAIN_GOODBYE = "Sorry, we have to end this call now. Please call again in a minute. Goodbye."


def default_gateway_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Reader(Protocol):
    def text(self, name: str) -> str: ...

    def parse(self, name: str, convert: Callable[[str], T], default: T) -> T: ...


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    # Names this process among the gateways sharing DATABASE_URL (PostgreSQL): its calls are its rows.
    gateway_id: str = field(default_factory=default_gateway_id)
    # Each gateway says it is alive this often; one silent for dead_after_s no longer carries calls.
    heartbeat_s: float = 2.0
    dead_after_s: float = 10.0
    # A line /incoming_call reserved is kept this long for the call's stream to start (PostgreSQL only).
    line_reservation_s: float = 30.0
    # On SIGTERM: how long calls may go on before they are ended with the goodbye below.
    drain_timeout_s: float = 30.0
    drain_goodbye_text: str = DEFAULT_DRAIN_GOODBYE

    @classmethod
    def from_reader(cls, reader: Reader) -> ClusterSettings:
        heartbeat = reader.parse("GATEWAY_HEARTBEAT_S", positive_float, 2.0)

        def dead_after(raw: str) -> float:
            value = positive_float(raw)
            if value <= 2 * heartbeat:  # one missed beat (a slow query) must not make a gateway dead
                raise ValueError(f"must be more than twice GATEWAY_HEARTBEAT_S={heartbeat:g}")
            return value

        return cls(
            gateway_id=reader.parse("GATEWAY_ID", _gateway_id, default_gateway_id()),
            heartbeat_s=heartbeat,
            dead_after_s=reader.parse("GATEWAY_DEAD_AFTER_S", dead_after, max(10.0, 5 * heartbeat)),
            line_reservation_s=reader.parse("LINE_RESERVATION_S", positive_float, 30.0),
            drain_timeout_s=reader.parse("DRAIN_TIMEOUT_S", _non_negative_float, 30.0),
            drain_goodbye_text=reader.text("DRAIN_GOODBYE_TEXT") or DEFAULT_DRAIN_GOODBYE,
        )


def _gateway_id(raw: str) -> str:
    if len(raw) > 128 or not all(c.isalnum() or c in "-_.:" for c in raw):
        raise ValueError("expected up to 128 letters, digits, '-', '_', '.' or ':'")
    return raw


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("expected a number, 0 or more")
    return value
