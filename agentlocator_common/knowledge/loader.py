"""Load and validate the knowledge file (the agent at start-up and per request, the console on save).

Shared by both services so the console refuses exactly what the agent would. The file is composed
into YAML nodes rather than loaded straight into dicts, because nodes keep their line numbers: a
malformed file must stop start-up with the line and the key that is wrong, not with a KeyError from
deep inside the brain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentlocator_common.knowledge.opening import (
    WEEKDAYS,
    BookingRules,
    OpeningHours,
    parse_day,
    parse_minutes,
    parse_spans,
    parse_zone,
)

_REQUIRED_TEXT = ("name", "greeting", "hours", "address", "transfer_number", "language", "persona")
_OPTIONAL_LISTS = ("closed_on", "not_offered", "vocabulary")
_BOOKING_KEYS = ("timezone", "opening_hours", "holidays", "booking")
_KNOWN_KEYS = frozenset((*_REQUIRED_TEXT, *_OPTIONAL_LISTS, *_BOOKING_KEYS, "services", "faqs"))
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A minus sign before a figure, not inside a range such as "10-20 pounds".
_NEGATIVE = re.compile(r"(?:^|[^\w.])[-\u2212]\s*\d")
# The longest text each key may hold: what a caller can be read in one breath, and no more (a
# 10,000-character answer is a pasted document, not an FAQ). Keys not listed: DEFAULT_MAX_CHARS.
MAX_CHARS = {
    "name": 120,
    "greeting": 400,
    "language": 16,
    "timezone": 64,
    "services.name": 120,
    "services.price": 80,
    "faqs.question": 300,
    "faqs.answer": 1000,
}
DEFAULT_MAX_CHARS = 2000
MAX_ITEMS = 200  # entries in any list (services, FAQs, holidays, vocabulary)
MAX_DOCUMENT_BYTES = 256 * 1024


class KnowledgeError(ValueError):
    """The knowledge is unreadable or malformed; the message names the file, line and key, and `key` is
    the dotted key alone (faqs.answer), for a form that shows the problem beside the field."""

    def __init__(self, message: str, key: str = "", line: int = 0, index: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.line = line
        self.index = index  # which entry of a list (services, faqs), counted from 0


@dataclass(frozen=True, slots=True)
class Faq:
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    price: str
    minutes: int = 0  # how long a booking takes; 0: the agent does not book it itself
    aliases: tuple[str, ...] = ()  # other words callers use for it ("cleaning")


@dataclass(frozen=True, slots=True)
class Knowledge:
    name: str
    greeting: str
    hours: str
    address: str
    transfer_number: str
    language: str
    persona: str
    closed_on: tuple[str, ...] = ()
    not_offered: tuple[str, ...] = ()
    # Names and words callers say that speech recognition should expect (staff, street, town, brands);
    # never an answer, only a hint to the ears (agent_service/speech/hints.py).
    vocabulary: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    faqs: tuple[Faq, ...] = ()
    # Structured hours for booking (opening.py); None: the agent does not book appointments.
    opening: OpeningHours | None = None

    def facts(self) -> list[str]:
        """Every fact as one line: what the LLM prompt lists and what the guard rails check answers with."""
        lines = [f"Business name: {self.name}", f"Opening hours: {self.hours}", f"Address: {self.address}"]
        if self.closed_on:
            lines.append(f"CLOSED on: {', '.join(self.closed_on)}")
        if self.services:
            lines.append("Prices: " + "; ".join(f"{s.name} {s.price}" for s in self.services))
        if self.not_offered:
            lines.append(f"NOT offered: {', '.join(self.not_offered)}")
        lines.extend(f"{faq.question} {faq.answer}" for faq in self.faqs)
        return lines


def load_knowledge(path: Path) -> Knowledge:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KnowledgeError(f"{path}: cannot read the knowledge file: {e}") from None
    return parse_knowledge(text, str(path))


def parse_knowledge(text: str, source: str) -> Knowledge:
    """Validate a knowledge document; `source` names it in errors (a path, "version 7")."""
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise KnowledgeError(f"{source}: the knowledge is over {MAX_DOCUMENT_BYTES // 1024} KiB")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark is not None else 0
        raise KnowledgeError(f"{source}:{line}: not valid YAML: {e.problem}", line=line) from None
    return _Parser(source).knowledge(root)


class _Parser:
    def __init__(self, source: str) -> None:
        self._path = source
        self._index: int | None = None  # the list entry being read, for KnowledgeError.index

    def _fail(self, node: yaml.Node | None, key: str, problem: str) -> KnowledgeError:
        line = node.start_mark.line + 1 if node is not None else 1
        index = self._index if "." in key else None
        return KnowledgeError(f"{self._path}:{line}: key {key!r}: {problem}", key, line, index)

    def knowledge(self, root: yaml.Node | None) -> Knowledge:
        if not isinstance(root, yaml.MappingNode):
            raise self._fail(
                root, "(top level)", "the file must be a mapping of keys such as name, hours, faqs"
            )
        fields = self._mapping(root, "(top level)")
        for key, (key_node, _) in fields.items():
            if key not in _KNOWN_KEYS:
                raise self._fail(key_node, key, f"unknown key; known: {', '.join(sorted(_KNOWN_KEYS))}")
        text: dict[str, str] = {}
        for key in _REQUIRED_TEXT:
            if key not in fields:
                raise self._fail(root, key, "is required")
            text[key] = self._text(fields[key][1], key)
        if not _E164.match(text["transfer_number"]):
            raise self._fail(
                fields["transfer_number"][1], "transfer_number", "must be an E.164 number like +441234567890"
            )
        lists = {
            key: self._text_list(fields[key][1], key) if key in fields else () for key in _OPTIONAL_LISTS
        }
        return Knowledge(
            **text,
            closed_on=lists["closed_on"],
            not_offered=lists["not_offered"],
            vocabulary=lists["vocabulary"],
            services=self._services(fields.get("services")),
            faqs=tuple(
                Faq(**pair) for pair in self._records(fields.get("faqs"), "faqs", ("question", "answer"))
            ),
            opening=self._opening(root, fields),
        )

    def _services(self, pair: tuple[yaml.Node, yaml.Node] | None) -> tuple[Service, ...]:
        optional = frozenset(("minutes", "aliases"))
        services = []
        records = self._records(pair, "services", ("name", "price"), optional=optional)
        items = pair[1].value if pair else []
        for index, (record, item) in enumerate(zip(records, items, strict=True)):
            self._index = index
            fields = self._mapping(item, "services")
            if _NEGATIVE.search(record["price"]):
                raise self._fail(fields["price"][1], "services.price", "must not be negative")
            minutes = 0
            if "minutes" in fields:
                minutes = self._parsed(fields["minutes"][1], "services.minutes", parse_minutes, 5, 8 * 60)
            aliases = self._text_list(fields["aliases"][1], "services.aliases") if "aliases" in fields else ()
            services.append(Service(record["name"], record["price"], minutes, aliases))
        self._index = None
        return tuple(services)

    def _opening(
        self, root: yaml.Node, fields: dict[str, tuple[yaml.Node, yaml.Node]]
    ) -> OpeningHours | None:
        if "opening_hours" not in fields:
            for key in ("timezone", "holidays", "booking"):
                if key in fields:
                    raise self._fail(fields[key][0], key, "needs opening_hours beside it")
            return None
        if "timezone" not in fields:
            raise self._fail(root, "timezone", "is required with opening_hours (an IANA name)")
        zone = self._parsed(fields["timezone"][1], "timezone", parse_zone)
        node = fields["opening_hours"][1]
        if not isinstance(node, yaml.MappingNode):
            raise self._fail(node, "opening_hours", "must map each weekday to 08:30-18:00 or closed")
        days = self._mapping(node, "opening_hours")
        weekly = []
        for day in WEEKDAYS:
            if day not in days:
                raise self._fail(node, f"opening_hours.{day}", "is required (a range or closed)")
            weekly.append(self._parsed(days[day][1], f"opening_hours.{day}", parse_spans))
        for key, (key_node, _) in days.items():
            if key not in WEEKDAYS:
                raise self._fail(key_node, f"opening_hours.{key}", "is not a weekday (monday … sunday)")
        holidays = frozenset(
            self._parsed(item, "holidays", parse_day)
            for item in self._sequence(fields.get("holidays"), "holidays")
        )
        return OpeningHours(zone, tuple(weekly), holidays, self._rules(fields.get("booking")))

    def _rules(self, pair: tuple[yaml.Node, yaml.Node] | None) -> BookingRules:
        if pair is None:
            return BookingRules()
        if not isinstance(pair[1], yaml.MappingNode):
            raise self._fail(pair[1], "booking", "must map lead_minutes, step_minutes, horizon_days")
        limits = {"lead_minutes": (0, 7 * 24 * 60), "step_minutes": (5, 120), "horizon_days": (1, 366)}
        values: dict[str, int] = {}
        for key, (key_node, value_node) in self._mapping(pair[1], "booking").items():
            if key not in limits:
                raise self._fail(key_node, f"booking.{key}", f"unknown; known: {', '.join(limits)}")
            values[key] = self._parsed(value_node, f"booking.{key}", parse_minutes, *limits[key])
        return BookingRules(**values)

    def _sequence(self, pair: tuple[yaml.Node, yaml.Node] | None, key: str) -> list[yaml.Node]:
        if pair is None:
            return []
        if not isinstance(pair[1], yaml.SequenceNode):
            raise self._fail(pair[1], key, "must be a list")
        if len(pair[1].value) > MAX_ITEMS:
            raise self._fail(pair[1], key, f"has more than {MAX_ITEMS} entries")
        return list(pair[1].value)

    def _parsed(self, node: yaml.Node, key: str, parse: Any, *bounds: int) -> Any:
        text = self._text(node, key)
        try:
            return parse(text, low=bounds[0], high=bounds[1]) if bounds else parse(text)
        except ValueError as e:
            raise self._fail(node, key, str(e)) from None

    def _mapping(self, node: yaml.MappingNode, where: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, where, "keys must be plain words")
            if key_node.value in out:
                raise self._fail(key_node, key_node.value, "appears twice")
            out[key_node.value] = (key_node, value_node)
        return out

    def _text(self, node: yaml.Node, key: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise self._fail(node, key, "must be non-empty text")
        value = str(node.value).strip()
        limit = MAX_CHARS.get(key, DEFAULT_MAX_CHARS)
        if len(value) > limit:
            raise self._fail(node, key, f"is {len(value):,} characters; at most {limit:,}")
        return value

    def _text_list(self, node: yaml.Node, key: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self._fail(node, key, "must be a list of text")
        if len(node.value) > MAX_ITEMS:
            raise self._fail(node, key, f"has more than {MAX_ITEMS} entries")
        return tuple(self._text(item, key) for item in node.value)

    def _records(
        self,
        pair: tuple[yaml.Node, yaml.Node] | None,
        key: str,
        names: tuple[str, str],
        optional: frozenset[str] = frozenset(),
    ) -> list[dict[str, str]]:
        if pair is None:
            return []
        node = pair[1]
        if not isinstance(node, yaml.SequenceNode):
            raise self._fail(node, key, f"must be a list of {{{names[0]}, {names[1]}}}")
        if len(node.value) > MAX_ITEMS:
            raise self._fail(node, key, f"has more than {MAX_ITEMS} entries")
        records = []
        for index, item in enumerate(node.value):
            self._index = index
            if not isinstance(item, yaml.MappingNode):
                raise self._fail(item, key, f"each entry must have {names[0]} and {names[1]}")
            fields = self._mapping(item, key)
            extra = set(fields) - set(names) - optional
            if extra:
                raise self._fail(
                    fields[min(extra)][0],
                    f"{key}.{min(extra)}",
                    f"unknown; expected {', '.join((*names, *sorted(optional)))}",
                )
            record = {}
            for name in names:
                if name not in fields:
                    raise self._fail(item, f"{key}.{name}", "is required")
                record[name] = self._text(fields[name][1], f"{key}.{name}")
            records.append(record)
        self._index = None
        return records
