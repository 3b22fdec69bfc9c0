"""Spoken numbers, ordinals, months and weekdays as callers (and speech recognisers) write them.

`normalise` turns "the third of December at half two p.m." into "the 3rd of december at half 2 pm", so
the date and time patterns (when.py) only ever see digits.
"""

from __future__ import annotations

import re

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTH_ALIASES = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_ALIASES = {d[:3]: i for i, d in enumerate(WEEKDAY_NAMES)} | {"tues": 1, "weds": 2, "thurs": 3}

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_ORDINAL_UNITS = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}
_CARDINAL = {word: n for n, word in enumerate(_UNITS)} | {"oh": 0}
_ORDINAL = {word: n for n, word in enumerate(_ORDINAL_UNITS)} | _ORDINAL_TENS


def ordinal_suffix(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _number_words(text: str) -> str:
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in _TENS:
            if nxt in _ORDINAL and 0 < _ORDINAL[nxt] < 10:
                n = _TENS[word] + _ORDINAL[nxt]
                out.append(f"{n}{ordinal_suffix(n)}")
                i += 2
                continue
            if nxt in _CARDINAL and 0 < _CARDINAL[nxt] < 10 and nxt != "oh":
                out.append(str(_TENS[word] + _CARDINAL[nxt]))
                i += 2
                continue
            out.append(str(_TENS[word]))
        elif word in _ORDINAL and (word != "second" or _dated(words, i)):
            n = _ORDINAL[word]
            out.append(f"{n}{ordinal_suffix(n)}")
        elif word == "oh" and out and out[-1].isdigit() and nxt in _CARDINAL:
            out.append(f"0{_CARDINAL[nxt]}")  # "ten oh five" is 10:05
            i += 2
            continue
        elif word in _CARDINAL and word != "oh":
            out.append(str(_CARDINAL[word]))
        else:
            out.append(word)
        i += 1
    return " ".join(out)


def _dated(words: list[str], i: int) -> bool:
    """'second' is an ordinal date only next to 'the' or a month ('just a second' is not a date)."""
    before = words[i - 1] if i else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    return before == "the" or after == "of" or before in MONTHS or before in MONTH_ALIASES


def normalise(text: str) -> str:
    text = text.lower()
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"\bo'?\s?clock\b", " ", text)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # twenty-first, check-up
    text = re.sub(r"\b(\d{1,2})\.(\d{2})\b", r"\1:\2", text)
    text = re.sub(r"[^\w:/\s-]", " ", text)
    text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text)
    return _number_words(" ".join(text.split()))
