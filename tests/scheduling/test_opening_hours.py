"""The knowledge file's booking keys: the demo books; a bad value stops start-up naming the line and key."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, KnowledgeError, load_knowledge

VALID = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8")


def test_the_demo_clinic_has_structured_hours_and_service_lengths() -> None:
    k = load_knowledge(DEMO_KNOWLEDGE_FILE)
    assert k.opening is not None and k.opening.timezone == "Europe/London"
    assert k.opening.spans(date(2026, 12, 1)) == ((time(8, 30), time(18)),)  # a Tuesday
    assert k.opening.spans(date(2026, 12, 6)) == ()  # Sunday
    assert k.opening.spans(date(2026, 12, 25)) == ()  # Christmas Day, a Friday
    assert all(s.minutes > 0 for s in k.services)
    assert "cleaning" in next(s for s in k.services if s.name == "scale and polish").aliases


def test_a_file_without_opening_hours_still_loads_and_books_nothing(tmp_path: Path) -> None:
    start, end = VALID.index("timezone:"), VALID.index("# Words callers use")
    path = tmp_path / "k.yaml"
    path.write_text(VALID[:start] + VALID[end:], encoding="utf-8")
    assert load_knowledge(path).opening is None


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("timezone: Europe/London", "timezone: Europe/Brighton", "timezone", "not an IANA time zone"),
        ("  monday: 08:30-18:00", "  monday: 8.30 till 6", "opening_hours.monday", "not a range"),
        ("  monday: 08:30-18:00", "  monday: 18:00-08:30", "opening_hours.monday", "closes before it opens"),
        ("  monday: 08:30-18:00", "  monday: 08:30-25:00", "opening_hours.monday", "does not exist"),
        ("  sunday: closed\n", "", "opening_hours.sunday", "is required"),
        ("  sunday: closed", "  sunday: closed\n  funday: closed", "opening_hours.funday", "not a weekday"),
        ("2026-12-25,", "2026-12-32,", "holidays", "not a date"),
        ("  lead_minutes: 60", "  lead_minutes: soon", "booking.lead_minutes", "whole number"),
        ("  step_minutes: 15", "  step_minutes: 1", "booking.step_minutes", "between 5 and 120"),
        ("  horizon_days: 90", "  horizon_dayz: 90", "booking.horizon_dayz", "unknown"),
        (
            "    minutes: 30\n    aliases: [checkup",
            "    minutes: half an hour\n    aliases: [checkup",
            "services.minutes",
            "whole number",
        ),
        ("    aliases: [whitening]", "    aliases: whitening", "services.aliases", "list"),
        ("    aliases: [whitening]", "    colour: white", "services.colour", "unknown"),
        ("timezone: Europe/London\n", "", "timezone", "is required"),
    ],
)
def test_a_bad_booking_key_names_the_line_and_the_key(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    assert old in VALID
    path = tmp_path / "business.yaml"
    path.write_text(VALID.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(path)
    message = str(raised.value)
    assert f"key {key!r}" in message and problem in message, message
    assert f"{path}:" in message
