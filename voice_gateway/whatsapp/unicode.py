"""Lone UTF-16 surrogates: JSON can carry one (`"\\ud800"`), UTF-8 (and so every database) cannot.

Python's `json` turns a valid pair into one code point, so any surrogate left in a decoded `str` is lone.
What arrives from a provider is repaired (U+FFFD, as a decoder would), so the message is kept; what our
own API is asked to send is refused, naming the field, because the sender can fix it. Both walk the
decoded value without recursion: a body may nest as deep as `json` allowed.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_fields(value: Any) -> dict[str, str]:
    """Each field (dotted path) of a decoded JSON value whose text holds a lone surrogate."""
    found: dict[str, str] = {}
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, str):
            hit = _SURROGATE.search(node)
            if hit is not None:
                found[path or "body"] = (
                    f"contains a lone UTF-16 surrogate (\\u{ord(hit.group()):04x} at character "
                    f"{hit.start()}); send valid Unicode"
                )
        elif isinstance(node, dict):
            for key, item in node.items():
                name = f"{path}.{key}" if path else str(key)
                if _SURROGATE.search(str(key)):
                    name = _SURROGATE.sub("\ufffd", name)
                    found[name] = "the field name contains a lone UTF-16 surrogate"
                pending.append((item, name))
        elif isinstance(node, list):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(node))
    return found


def replace_lone_surrogates(value: Any) -> tuple[Any, int]:
    """The value with every lone surrogate replaced by U+FFFD (containers in place), and how many."""
    if isinstance(value, str):
        return _SURROGATE.subn("\ufffd", value)
    replaced = 0
    pending: list[Any] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index], count = _SURROGATE.subn("\ufffd", item)
                    replaced += count
                elif isinstance(item, (list, dict)):
                    pending.append(item)
        elif isinstance(node, dict):
            for key in list(node):
                item = node.pop(key) if _SURROGATE.search(key) else node[key]
                new_key, in_key = _SURROGATE.subn("\ufffd", key)
                if isinstance(item, str):
                    item, in_item = _SURROGATE.subn("\ufffd", item)
                    replaced += in_item
                elif isinstance(item, (list, dict)):
                    pending.append(item)
                node[new_key] = item
                replaced += in_key
    return value, replaced
