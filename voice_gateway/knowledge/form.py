"""The knowledge as the console's form shows it, and a submitted form back into a document.

The document is the knowledge file's YAML, so a saved version can be copied into KNOWLEDGE_FILE and
deployed as code. Validation is not done here: the document is handed to `parse_knowledge`, the
loader the agent itself runs, and its error (which names a key and list entry) is pointed back at the
form field it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from agentlocator_common.knowledge import KnowledgeError
from agentlocator_common.knowledge.loader import MAX_ITEMS
from agentlocator_common.knowledge.opening import WEEKDAYS

TEXTS = ("name", "greeting", "language", "persona", "hours", "address", "transfer_number", "timezone")
LISTS = ("closed_on", "holidays", "not_offered", "vocabulary")
BOOKING = ("lead_minutes", "step_minutes", "horizon_days")
BLANK_ROWS = 2  # empty service and FAQ rows under the existing ones, for adding
# The document's keys in the order the demo file uses them.
ORDER = (
    "name",
    "greeting",
    "language",
    "persona",
    "hours",
    "address",
    "transfer_number",
    "closed_on",
    "timezone",
    "opening_hours",
    "holidays",
    "booking",
    "vocabulary",
    "not_offered",
    "services",
    "faqs",
)


@dataclass
class KnowledgeForm:
    """Every field's value as text, as the form shows it (and as it came back when refused)."""

    texts: dict[str, str] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)  # one entry a line
    days: dict[str, str] = field(default_factory=dict)
    booking: dict[str, str] = field(default_factory=dict)
    services: list[dict[str, str]] = field(default_factory=list)
    faqs: list[dict[str, str]] = field(default_factory=list)

    def with_blank_rows(self) -> KnowledgeForm:
        blank_service = {"name": "", "price": "", "minutes": "", "aliases": ""}
        return KnowledgeForm(
            self.texts,
            self.lists,
            self.days,
            self.booking,
            self.services + [dict(blank_service) for _ in range(BLANK_ROWS)],
            self.faqs + [{"question": "", "answer": ""} for _ in range(BLANK_ROWS)],
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def form_of(document: str) -> KnowledgeForm:
    """The form for a stored (valid) document."""
    # Every scalar as the text the loader reads (its node values): `language: no` stays "no", where a
    # YAML 1.1 reading would turn it into False.
    data = yaml.load(document, Loader=yaml.BaseLoader) or {}
    days = data.get("opening_hours") or {}
    return KnowledgeForm(
        texts={key: _text(data.get(key)) for key in TEXTS},
        lists={key: "\n".join(_text(item) for item in data.get(key) or ()) for key in LISTS},
        days={day: _text(days.get(day)) for day in WEEKDAYS},
        booking={key: _text((data.get("booking") or {}).get(key)) for key in BOOKING},
        services=[
            {
                "name": _text(s.get("name")),
                "price": _text(s.get("price")),
                "minutes": _text(s.get("minutes")),
                "aliases": ", ".join(_text(a) for a in s.get("aliases") or ()),
            }
            for s in data.get("services") or ()
        ],
        faqs=[
            {"question": _text(f.get("question")), "answer": _text(f.get("answer"))}
            for f in data.get("faqs") or ()
        ],
    )


def submitted(form: Mapping[str, str]) -> KnowledgeForm:
    """The fields of a POSTed form, as typed (rows with nothing in them dropped)."""
    services, faqs = [], []
    for i in range(MAX_ITEMS + BLANK_ROWS + 1):  # one past the limit, so the loader names "too many"
        row = {
            key: form.get(f"service-{i}-{key}", "").strip() for key in ("name", "price", "minutes", "aliases")
        }
        if any(row.values()):
            services.append(row)
        faq = {key: form.get(f"faq-{i}-{key}", "").strip() for key in ("question", "answer")}
        if any(faq.values()):
            faqs.append(faq)
    return KnowledgeForm(
        texts={key: form.get(key, "").strip() for key in TEXTS},
        lists={key: form.get(key, "").strip() for key in LISTS},
        days={day: form.get(f"day-{day}", "").strip() for day in WEEKDAYS},
        booking={key: form.get(f"booking-{key}", "").strip() for key in BOOKING},
        services=services,
        faqs=faqs,
    )


def document_of(values: KnowledgeForm) -> str:
    """The YAML document for a form. Empty optional parts are left out; an empty required field is kept
    empty so that the loader names it."""
    data: dict[str, Any] = {key: values.texts.get(key, "") for key in TEXTS if key != "timezone"}
    for key in LISTS:
        items = [line.strip() for line in values.lists.get(key, "").splitlines() if line.strip()]
        if items:
            data[key] = items
    if values.texts.get("timezone") or any(values.days.values()):
        data["timezone"] = values.texts.get("timezone", "")
        data["opening_hours"] = {day: values.days.get(day, "") for day in WEEKDAYS}
    booking = {key: values.booking[key] for key in BOOKING if values.booking.get(key)}
    if booking:
        data["booking"] = booking
    if values.services:
        data["services"] = [_service(row) for row in values.services]
    if values.faqs:
        data["faqs"] = [dict(row) for row in values.faqs]
    ordered = {key: data[key] for key in ORDER if key in data}
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100_000)


def _service(row: Mapping[str, str]) -> dict[str, Any]:
    service: dict[str, Any] = {"name": row["name"], "price": row["price"]}
    if row.get("minutes"):
        service["minutes"] = row["minutes"]
    aliases = [a.strip() for a in row.get("aliases", "").split(",") if a.strip()]
    if aliases:
        service["aliases"] = aliases
    return service


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field_id: str  # the form control's id ("" when no one field is at fault)
    label: str  # the field as the owner knows it
    key: str  # the key in the knowledge file
    problem: str


_LABELS = {
    "name": "Business name",
    "greeting": "Greeting",
    "language": "Language",
    "persona": "Persona",
    "hours": "Opening hours, as said",
    "address": "Address",
    "transfer_number": "Transfer number",
    "timezone": "Time zone",
    "closed_on": "Closed on",
    "holidays": "Closed days (holidays)",
    "not_offered": "Not offered",
    "vocabulary": "Words callers use",
}


def problem_of(error: KnowledgeError) -> FieldProblem:
    """Which form field the loader's error is about, and what is wrong with it."""
    key = error.key
    problem = str(error).split(f"key {key!r}: ", 1)[-1] if key else str(error)
    head, _, tail = key.partition(".")
    row = error.index if error.index is not None else 0
    if head in ("services", "faqs") and tail:
        part = tail if tail in ("name", "price", "minutes", "aliases", "question", "answer") else "name"
        noun = "service" if head == "services" else "faq"
        label = f"{'Service' if head == 'services' else 'Question'} {row + 1}, {part}"
        return FieldProblem(f"{noun}-{row}-{part}", label, key, problem)
    if head == "opening_hours":
        day = tail if tail in WEEKDAYS else "monday"
        return FieldProblem(f"day-{day}", f"{day.capitalize()} hours", key, problem)
    if head == "booking":
        part = tail if tail in BOOKING else "lead_minutes"
        return FieldProblem(f"booking-{part}", f"Booking: {part.replace('_', ' ')}", key, problem)
    if head in ("services", "faqs"):
        return FieldProblem(f"{head}-heading", head.capitalize(), key, problem)
    if head in _LABELS:
        return FieldProblem(head, _LABELS[head], key, problem)
    return FieldProblem("", "The knowledge", key, problem)
