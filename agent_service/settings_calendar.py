"""The calendar's settings (CALENDAR_*, BUSINESS_TIMEZONE, AGENT_DATABASE_URL), read with the rest of
AgentSettings in settings.py: a wrong value stops start-up with one line naming the variable."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_service.knowledge.opening import parse_zone
from agent_service.settings_values import Reader


@dataclass(frozen=True, slots=True)
class CalendarSettings:
    # CalDAV collection URL (Nextcloud, Fastmail, iCloud, Radicale…); empty: the embedded calendar.
    url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_s: float = 10.0  # every calendar request (and the embedded database's) is cut off after this
    business_timezone: str = ""  # IANA; empty: the knowledge file's `timezone`
    database_url: str = ""  # the embedded calendar's database; empty: SQLite in AGENT_DATA_DIR

    @classmethod
    def from_env(cls, read: Reader) -> CalendarSettings:
        d = cls()
        return cls(
            url=read.parse("CALENDAR_URL", _collection_url, d.url),
            username=read.parse("CALENDAR_USERNAME", str, d.username),
            password=read.parse("CALENDAR_PASSWORD", str, d.password),
            timeout_s=read.parse("CALENDAR_TIMEOUT_S", _timeout, d.timeout_s),
            business_timezone=read.parse("BUSINESS_TIMEZONE", parse_zone, d.business_timezone),
            database_url=read.parse("AGENT_DATABASE_URL", _database_url, d.database_url),
        )


def _collection_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("expected the calendar collection's http:// or https:// URL")
    return raw


def _timeout(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 < value <= 120:
        raise ValueError("must be more than 0 and at most 120 seconds")
    return value


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("expected sqlite:///path or postgresql://user:pass@host:port/db")
    return raw
