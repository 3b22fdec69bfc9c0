"""The gateway's configuration: read from the environment once, at start-up, into a frozen object.

This is the only module that looks at environment variables; everything else receives a `Settings`.
A wrong value stops start-up with one line naming the variable, so a typo never becomes a silent default.
"""

from __future__ import annotations

import enum
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from voice_gateway.settings_cluster import ClusterSettings
from voice_gateway.settings_values import boolean as _bool
from voice_gateway.settings_values import non_negative_int as _non_negative_int
from voice_gateway.settings_values import port as _port
from voice_gateway.settings_values import positive_float as _positive_float
from voice_gateway.settings_values import positive_int as _positive_int
from voice_gateway.settings_values import url_token as _url_token

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)


class WsMode(enum.StrEnum):
    SINK = "SINK"
    ECHO = "ECHO"
    AI = "AI"


class WsServer(enum.StrEnum):
    """Who parses Media Streams frames: `websockets` (the default, ~2× less CPU) or Hypercorn."""

    WEBSOCKETS = "websockets"
    HYPERCORN = "hypercorn"


DEFAULT_APOLOGY = "Sorry, we can't take your call right now. Please try again in a few minutes. Goodbye."
DEFAULT_DATABASE_URL = "sqlite:///./data/agentlocator.db"
DEFAULT_BUSY_TEXT = "Sorry, all lines are busy. Please call again in a few minutes. Goodbye."


class WhatsAppProvider(enum.StrEnum):
    BAILEYS = "baileys"
    TWILIO = "twilio"


# CONSOLE_PASSWORD and API_TOKEN both sign in to /console, which faces the internet with the webhooks.
MIN_CONSOLE_SECRET = 12


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    port: int = 8080
    bind_host: str = "0.0.0.0"
    public_base_url: str | None = None
    ws_mode: WsMode = WsMode.ECHO
    ws_server: WsServer = WsServer.WEBSOCKETS
    twilio_auth_token: str | None = None
    call_token_secret: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    call_token_secret_is_ephemeral: bool = True
    # How long a StreamToken from /incoming_call stays valid for the stream's `start` (Twilio connects in
    # about a second, after any GREETING_TEXT), and how long an accepted socket may wait for `start`.
    call_token_ttl_s: int = 300
    ws_start_timeout_s: float = 10.0
    greeting_text: str = ""
    hangup_on_stream_end: bool = False
    max_ws_frame_bytes: int = 64 * 1024
    max_body_bytes: int = 64 * 1024
    echo_mark_interval_ms: int = 1000
    agent_addr: str = "127.0.0.1:50051"
    agent_health_timeout_s: float = 1.0
    agent_reconnect_timeout_s: float = 5.0
    agent_ping_interval_s: float = 5.0
    agent_keepalive_s: float = 20.0
    playback_lead_ms: int = 200
    end_call_timeout_s: float = 30.0
    apology_text: str = DEFAULT_APOLOGY
    twilio_account_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    log_level: str = "INFO"
    log_format: str = "text"
    # Bearer tokens allowed to call /api/payments/*; empty: nobody (voice_gateway/payments.py).
    payments_api_tokens: frozenset[str] = field(default_factory=frozenset, repr=False)
    api_token: str | None = field(default=None, repr=False)
    whatsapp_default_provider: WhatsAppProvider = WhatsAppProvider.BAILEYS
    whatsapp_auto_reply: bool = False
    baileys_bridge_url: str = "http://127.0.0.1:3001"
    baileys_bridge_timeout_s: float = 60.0
    # A send whose outcome is unknown (the provider never answered) is failed after this long unless the
    # provider confirms it first (voice_gateway/whatsapp/unconfirmed.py).
    whatsapp_unconfirmed_send_timeout_s: float = 900.0
    # The owner's WhatsApp for each message taken, and its retries (voice_gateway/messages/notify.py).
    owner_whatsapp: str | None = None
    owner_notify_retry_min_s: float = 5.0
    owner_notify_retry_max_s: float = 300.0
    owner_notify_max_attempts: int = 100
    bridge_api_key: str | None = field(default=None, repr=False)
    bridge_webhook_secret: str | None = field(default=None, repr=False)
    twilio_whatsapp_from: str | None = None
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    # Abuse limits (voice_gateway/limits/http_guard.py); 0 turns each one off.
    max_concurrent_calls: int = 200
    busy_text: str = DEFAULT_BUSY_TEXT
    api_rate_limit_per_minute: int = 120
    signature_failure_limit_per_minute: int = 20
    trust_proxy_headers: bool = False
    # The listener (voice_gateway/server/): head and keep-alive timeouts, connection caps (0 turns one off).
    header_timeout_s: float = 10.0
    keep_alive_timeout_s: float = 75.0
    max_connections: int = 4096
    max_connections_per_client: int = 512
    # Operator console (voice_gateway/console/): its password besides API_TOKEN, and the file it shows.
    console_password: str | None = field(default=None, repr=False)
    # Sign-in attempts at /console/login a minute, per client address and in total (console/throttle.py).
    console_login_limit_per_minute: int = 5
    console_login_global_limit_per_minute: int = 30
    knowledge_file: str = "agent_service/knowledge/demo.yaml"
    # The agent's appointments as a read-only iCalendar feed at /calendar/<token>.ics (unset: no feed).
    calendar_feed_token: str | None = field(default=None, repr=False)
    # Several gateways on one PostgreSQL, and the drain on SIGTERM (settings_cluster.py).
    cluster: ClusterSettings = field(default_factory=ClusterSettings)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.twilio_auth_token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        reader = _Reader(env)
        token = reader.text("TWILIO_AUTH_TOKEN") or None
        explicit_secret = reader.text("CALL_TOKEN_SECRET")
        # Per-call tokens must verify on whichever gateway takes the WebSocket, so a deployment with
        # several gateways sets CALL_TOKEN_SECRET (or shares TWILIO_AUTH_TOKEN); alone, a random one works.
        secret = explicit_secret or token or secrets.token_hex(32)
        return cls(
            port=reader.parse("PORT", _port, 8080),
            bind_host=reader.text("BIND_HOST") or "0.0.0.0",
            public_base_url=reader.parse("PUBLIC_BASE_URL", _base_url, None),
            ws_mode=reader.parse("WS_MODE", _enum(WsMode), WsMode.ECHO),
            ws_server=reader.parse("WS_SERVER", _enum(WsServer), WsServer.WEBSOCKETS),
            twilio_auth_token=token,
            call_token_secret=secret,
            call_token_secret_is_ephemeral=not (explicit_secret or token),
            call_token_ttl_s=reader.parse("CALL_TOKEN_TTL_S", _positive_int, 300),
            ws_start_timeout_s=reader.parse("WS_START_TIMEOUT_S", _positive_float, 10.0),
            greeting_text=reader.text("GREETING_TEXT"),
            hangup_on_stream_end=reader.parse("HANGUP_ON_STREAM_END", _bool, False),
            max_ws_frame_bytes=reader.parse("MAX_WS_FRAME_BYTES", _positive_int, 64 * 1024),
            max_body_bytes=reader.parse("MAX_BODY_BYTES", _positive_int, 64 * 1024),
            echo_mark_interval_ms=reader.parse("ECHO_MARK_INTERVAL_MS", _positive_int, 1000),
            agent_addr=reader.text("AGENT_ADDR") or "127.0.0.1:50051",
            agent_health_timeout_s=reader.parse("AGENT_HEALTH_TIMEOUT_S", _positive_float, 1.0),
            agent_reconnect_timeout_s=reader.parse("AGENT_RECONNECT_TIMEOUT_S", _positive_float, 5.0),
            agent_ping_interval_s=reader.parse("AGENT_PING_INTERVAL_S", _positive_float, 5.0),
            agent_keepalive_s=reader.parse("AGENT_KEEPALIVE_S", _positive_float, 20.0),
            playback_lead_ms=reader.parse("PLAYBACK_LEAD_MS", _positive_int, 200),
            end_call_timeout_s=reader.parse("END_CALL_TIMEOUT_S", _positive_float, 30.0),
            apology_text=reader.text("APOLOGY_TEXT") or DEFAULT_APOLOGY,
            twilio_account_sid=reader.text("TWILIO_ACCOUNT_SID") or None,
            twilio_api_base_url=reader.parse("TWILIO_API_BASE_URL", _base_url, "https://api.twilio.com"),
            log_level=reader.parse("LOG_LEVEL", _log_level, "INFO"),
            log_format=reader.parse("LOG_FORMAT", _log_format, "text"),
            payments_api_tokens=reader.parse("PAYMENTS_API_TOKENS", _token_list, frozenset()),
            api_token=reader.secret("API_TOKEN", MIN_CONSOLE_SECRET),
            whatsapp_default_provider=reader.parse(
                "WHATSAPP_DEFAULT_PROVIDER", _whatsapp_provider, WhatsAppProvider.BAILEYS
            ),
            whatsapp_auto_reply=reader.parse("WHATSAPP_AUTO_REPLY", _bool, False),
            baileys_bridge_url=reader.parse("BAILEYS_BRIDGE_URL", _base_url, "http://127.0.0.1:3001"),
            baileys_bridge_timeout_s=reader.parse("BAILEYS_BRIDGE_TIMEOUT_S", _positive_float, 60.0),
            whatsapp_unconfirmed_send_timeout_s=reader.parse(
                "WHATSAPP_UNCONFIRMED_SEND_TIMEOUT_S", _positive_float, 900.0
            ),
            owner_whatsapp=reader.parse("OWNER_WHATSAPP", _e164, None),
            owner_notify_retry_min_s=reader.parse("OWNER_NOTIFY_RETRY_MIN_S", _positive_float, 5.0),
            owner_notify_retry_max_s=reader.parse("OWNER_NOTIFY_RETRY_MAX_S", _positive_float, 300.0),
            owner_notify_max_attempts=reader.parse("OWNER_NOTIFY_MAX_ATTEMPTS", _positive_int, 100),
            bridge_api_key=reader.text("BRIDGE_API_KEY") or None,
            bridge_webhook_secret=reader.text("BRIDGE_WEBHOOK_SECRET") or None,
            twilio_whatsapp_from=reader.parse("TWILIO_WHATSAPP_FROM", _whatsapp_address, None),
            database_url=reader.parse("DATABASE_URL", _database_url, DEFAULT_DATABASE_URL),
            max_concurrent_calls=reader.parse("MAX_CONCURRENT_CALLS", _non_negative_int, 200),
            busy_text=reader.text("BUSY_TEXT") or DEFAULT_BUSY_TEXT,
            api_rate_limit_per_minute=reader.parse("API_RATE_LIMIT_PER_MINUTE", _non_negative_int, 120),
            signature_failure_limit_per_minute=reader.parse(
                "SIGNATURE_FAILURE_LIMIT_PER_MINUTE", _non_negative_int, 20
            ),
            trust_proxy_headers=reader.parse("TRUST_PROXY_HEADERS", _bool, False),
            header_timeout_s=reader.parse("HEADER_TIMEOUT_S", _positive_float, 10.0),
            keep_alive_timeout_s=reader.parse("KEEP_ALIVE_TIMEOUT_S", _positive_float, 75.0),
            max_connections=reader.parse("MAX_CONNECTIONS", _non_negative_int, 4096),
            max_connections_per_client=reader.parse("MAX_CONNECTIONS_PER_CLIENT", _non_negative_int, 512),
            console_password=reader.secret("CONSOLE_PASSWORD", MIN_CONSOLE_SECRET),
            calendar_feed_token=reader.parse("CALENDAR_FEED_TOKEN", _url_token, None),
            console_login_limit_per_minute=reader.parse(
                "CONSOLE_LOGIN_LIMIT_PER_MINUTE", _non_negative_int, 5
            ),
            console_login_global_limit_per_minute=reader.parse(
                "CONSOLE_LOGIN_GLOBAL_LIMIT_PER_MINUTE", _non_negative_int, 30
            ),
            knowledge_file=reader.text("KNOWLEDGE_FILE") or "agent_service/knowledge/demo.yaml",
            cluster=ClusterSettings.from_reader(reader),
        )


def auth_token_for_tools(env: Mapping[str, str] | None = None) -> str | None:
    """The auth token the simulator and smoke test sign with by default: the gateway's own setting."""
    return _Reader(os.environ if env is None else env).text("TWILIO_AUTH_TOKEN") or None


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str:
        return self._env.get(name, "").strip()

    def secret(self, name: str, minimum: int) -> str | None:
        value = self.text(name)
        if value and len(value) < minimum:
            # Never the value itself: this line ends up in logs.
            raise SettingsError(
                f"{name} is too short: {len(value)} characters, at least {minimum} "
                "(it signs in to /console; e.g. `openssl rand -base64 18`)"
            )
        return value or None

    def parse(self, name: str, convert: Callable[[str], T], default: T) -> T:
        raw = self.text(name)
        if not raw:
            return default
        try:
            return convert(raw)
        except ValueError as exc:
            shown = "(hidden)" if name.endswith(("TOKEN", "TOKENS")) else repr(raw)  # logs never see one
            raise SettingsError(f"{name}={shown} is invalid: {exc}") from None


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _log_format(raw: str) -> str:
    lowered = raw.lower()
    if lowered not in {"text", "json"}:
        raise ValueError("expected text or json")
    return lowered


def _token_list(raw: str) -> frozenset[str]:
    tokens = [token.strip() for token in raw.split(",")]
    if any(len(token) < 16 for token in tokens):
        raise ValueError("expected comma-separated tokens of at least 16 characters each")
    return frozenset(tokens)


def _enum(kind: type[E]) -> Callable[[str], E]:
    def convert(raw: str) -> E:
        for member in kind:
            if member.value.lower() == raw.strip().lower():
                return member
        raise ValueError("expected one of " + ", ".join(m.value for m in kind))

    return convert


def _base_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("expected an absolute http(s) URL such as https://abc.ngrok.app")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query string or fragment")
    # A trailing slash would put '//' into every webhook path we build from it.
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _whatsapp_provider(raw: str) -> WhatsAppProvider:
    try:
        return WhatsAppProvider(raw.lower())
    except ValueError:
        raise ValueError("expected one of " + ", ".join(p.value for p in WhatsAppProvider)) from None


def _e164(raw: str) -> str:
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", raw):
        raise ValueError("expected an E.164 number such as +4915112345678")
    return raw


def _whatsapp_address(raw: str) -> str:
    number = raw.removeprefix("whatsapp:")
    # Not str.isdigit(): that is true for digits of every script; an E.164 number is ASCII.
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", number):
        raise ValueError("expected an E.164 number such as whatsapp:+14155238886")
    return "whatsapp:" + number


def _database_url(raw: str) -> str:
    scheme = raw.split("://", 1)[0].split("+", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgresql", "postgres"}:
        raise ValueError("expected sqlite:///path/to/file.db or postgresql://user:pass@host:port/db")
    return raw
