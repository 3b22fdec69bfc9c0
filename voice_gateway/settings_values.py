"""Converters for `settings`: one environment value to a number or a flag, or a `ValueError` saying
what was expected. Kept apart so `settings.py` stays short enough to read."""

from __future__ import annotations


def port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("expected a TCP port from 0 to 65535")
    return value


def positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive whole number")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected a whole number, 0 or more (0 turns the limit off)")
    return value


def positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a positive number")
    return value


def boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def url_token(raw: str) -> str:
    """A secret that goes in a URL path (CALENDAR_FEED_TOKEN): long enough not to be guessed, and only
    characters a URL carries as they are."""
    if len(raw) < 24 or not all(c.isalnum() or c in "-_" for c in raw):
        raise ValueError("expected at least 24 letters, digits, '-' or '_' (e.g. `openssl rand -hex 16`)")
    return raw
