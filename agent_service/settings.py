"""The agent service's configuration: read from the environment once, at start-up, into a frozen object.

This is the only module that looks at environment variables; everything else receives `AgentSettings`.
A wrong value stops start-up with one line naming the variable, so a typo never becomes a silent default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TypeVar

from agent_service.pipelines.registry import pipeline_names

T = TypeVar("T")

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""


@dataclass(frozen=True, slots=True)
class AgentSettings:
    listen: str = "127.0.0.1:50051"
    pipeline: str = "echo"
    max_calls: int = 100
    shutdown_grace_s: float = 5.0
    echo_utterance_ms: int = 1000
    metrics_interval_s: float = 5.0
    session_start_timeout_s: float = 10.0
    # Server-side HTTP/2 keepalive: ping an idle connection this often, drop it if no ack in time.
    keepalive_time_s: float = 20.0
    keepalive_timeout_s: float = 10.0
    # Clients may ping this often without being sent GOAWAY(too_many_pings); keep it at or below the
    # gateway's keepalive time or its channel gets torn down mid-call.
    keepalive_min_client_ping_s: float = 10.0
    max_message_bytes: int = 4 * 1024 * 1024
    chat_history_turns: int = 20
    chat_max_conversations: int = 1000
    log_level: str = "INFO"

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, pipelines: Collection[str] | None = None
    ) -> AgentSettings:
        env = os.environ if env is None else env
        known = sorted(pipeline_names() if pipelines is None else pipelines)
        read = _Reader(env)
        d = cls()  # slots=True turns class attributes into descriptors, so defaults come from an instance
        return cls(
            listen=read.parse("AGENT_LISTEN", _listen, d.listen),
            pipeline=read.parse("AGENT_PIPELINE", _one_of(known, "pipeline"), d.pipeline),
            max_calls=read.parse("AGENT_MAX_CALLS", _positive_int, d.max_calls),
            shutdown_grace_s=read.parse("AGENT_SHUTDOWN_GRACE_S", _non_negative_float, d.shutdown_grace_s),
            echo_utterance_ms=read.parse("AGENT_ECHO_UTTERANCE_MS", _positive_int, d.echo_utterance_ms),
            metrics_interval_s=read.parse(
                "AGENT_METRICS_INTERVAL_S", _non_negative_float, d.metrics_interval_s
            ),
            session_start_timeout_s=read.parse(
                "AGENT_SESSION_START_TIMEOUT_S", _positive_float, d.session_start_timeout_s
            ),
            keepalive_time_s=read.parse("AGENT_KEEPALIVE_TIME_S", _positive_float, d.keepalive_time_s),
            keepalive_timeout_s=read.parse(
                "AGENT_KEEPALIVE_TIMEOUT_S", _positive_float, d.keepalive_timeout_s
            ),
            keepalive_min_client_ping_s=read.parse(
                "AGENT_KEEPALIVE_MIN_CLIENT_PING_S", _positive_float, d.keepalive_min_client_ping_s
            ),
            max_message_bytes=read.parse("AGENT_MAX_MESSAGE_BYTES", _positive_int, d.max_message_bytes),
            chat_history_turns=read.parse("AGENT_CHAT_HISTORY_TURNS", _positive_int, d.chat_history_turns),
            chat_max_conversations=read.parse(
                "AGENT_CHAT_MAX_CONVERSATIONS", _positive_int, d.chat_max_conversations
            ),
            log_level=read.parse("LOG_LEVEL", _log_level, d.log_level),
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def parse(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as e:
            raise SettingsError(f"{name}={raw!r}: {e}") from None


def _listen(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:50051 ([::]:0 picks a free port)")
    _port(port)
    return raw


def _port(raw: str) -> int:
    value = _int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("port must be between 0 and 65535")
    return value


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("not an integer") from None


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def _non_negative_float(raw: str) -> float:
    value = _float(raw)
    if value < 0:
        raise ValueError("must be zero or more")
    return value


def _positive_float(raw: str) -> float:
    value = _float(raw)
    if value <= 0:
        raise ValueError("must be more than zero")
    return value


def _one_of(known: list[str], what: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in known:
            raise ValueError(f"unknown {what}; known: {', '.join(known)}")
        return raw

    return parse


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(_LOG_LEVELS)}")
    return level
