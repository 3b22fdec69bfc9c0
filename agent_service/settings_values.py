"""Converters shared by the agent's settings modules (settings.py, settings_turns.py, settings_calendar.py):
one environment value to a number, a flag or a choice, or a `ValueError` saying what was expected."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")


class Reader(Protocol):
    """What a settings group's `from_env` reads with: the value of `name` through `parse`, or `default`."""

    def parse(self, name: str, parse: Callable[[str], T], default: T) -> T: ...


def integer(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("not an integer") from None


def finite_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def fraction(raw: str) -> float:
    value = finite_float(raw)
    if not 0 <= value <= 1:
        raise ValueError("must be between 0 and 1")
    return value


def boolean(raw: str) -> bool:
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def one_of(known: Sequence[str], what: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in known:
            raise ValueError(f"unknown {what}; known: {', '.join(known)}")
        return raw

    return parse
