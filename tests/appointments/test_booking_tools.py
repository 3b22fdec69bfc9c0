"""The LLM path's appointment tools check what the dialogue checks: a real service and date, a slot the
agent read back and the caller said yes to, a number the caller gave; the calendar decides what is said."""

from __future__ import annotations

import json

from agent_service.brain.booking_tools import appointment_tools
from agent_service.brain.events import Conversation, TextDelta, Turn
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.brain.tool_registry import ToolCall, ToolContext, ToolOutcome, ToolRegistry
from tests.appointments.conftest import KNOWLEDGE, Clinic

CALLER = "+447700900123"
TEN = "2026-12-01T10:00:00+00:00"
READ_BACK = "So that's Tuesday the 1st of December at 10 am, a check-up, for Jo Bloggs. Shall I book it?"


async def run(clinic: Clinic, tool: str, args: dict[str, str], *turns: tuple[str, str]) -> ToolOutcome:
    registry = ToolRegistry(appointment_tools(clinic.appointments))
    history = tuple(Turn(role, text) for role, text in turns) or (Turn("user", "hello"),)  # type: ignore[arg-type]
    context = ToolContext(Conversation("CA9", history, "voice", CALLER), ReceptionistBrain(KNOWLEDGE).assess)
    return await registry.execute(ToolCall(tool, json.dumps(args)), context)


def error(outcome: ToolOutcome) -> str:
    return str(json.loads(outcome.content)["error"])


async def test_find_slots_offers_the_nearest_two_in_the_spoken_form(clinic: Clinic) -> None:
    found = await run(clinic, "find_slots", {"service": "check-up", "when": "tomorrow at ten"})
    assert found.ok
    result = json.loads(found.content)["result"]
    assert "Tuesday the 1st of December at 10 am (start 2026-12-01T10:00:00+00:00)" in result


async def test_find_slots_refuses_what_cannot_be_booked(clinic: Clinic) -> None:
    unknown = await run(clinic, "find_slots", {"service": "dental implants", "when": "Friday"})
    assert unknown.status == "refused" and "the services are: check-up" in error(unknown)
    no_date = await run(clinic, "find_slots", {"service": "check-up", "when": "the 31st of November"})
    assert no_date.status == "refused" and "There's no 31st of November." in error(no_date)


async def test_book_needs_the_read_back_and_a_clear_yes(clinic: Clinic) -> None:
    args = {"service": "check-up", "start": TEN, "caller_name": "Jo Bloggs"}
    unasked = await run(clinic, "book", args, ("user", "book me in for 10 tomorrow"))
    assert unasked.status == "refused" and "clearly said yes" in error(unasked)
    not_read = await run(clinic, "book", args, ("agent", "Shall I book it?"), ("user", "yes"))
    assert not_read.status == "refused" and "read 'Tuesday the 1st of December at 10 am' back" in error(
        not_read
    )
    assert await clinic.booked() == []
    booked = await run(clinic, "book", args, ("agent", READ_BACK), ("user", "yes please"))
    assert booked.ok and booked.answered
    assert booked.events == (
        TextDelta(
            "You're booked in for Tuesday the 1st of December at 10 am, a check-up. We'll see you then!"
        ),
    )
    (made,) = await clinic.booked()
    assert (made.name, made.phone, made.source) == ("Jo Bloggs", CALLER, "CA9")
    again = await run(clinic, "book", {**args, "caller_name": "Ann"}, ("agent", READ_BACK), ("user", "yes"))
    assert again.status == "refused" and "just taken" in error(again)


async def test_book_takes_only_a_number_the_caller_said(clinic: Clinic) -> None:
    args = {"service": "check-up", "start": TEN, "caller_name": "Jo Bloggs", "phone": "+447700900999"}
    invented = await run(clinic, "book", args, ("agent", READ_BACK), ("user", "yes"))
    assert invented.status == "refused" and "not a number the caller said" in error(invented)
    said = await run(
        clinic, "book", args, ("user", "my number is 07700 900999"), ("agent", READ_BACK), ("user", "yes")
    )
    assert said.ok


async def test_move_and_cancel_act_on_the_callers_own_appointment_after_a_yes(clinic: Clinic) -> None:
    await run(
        clinic,
        "book",
        {"service": "check-up", "start": TEN, "caller_name": "Jo"},
        ("agent", READ_BACK),
        ("user", "yes"),
    )
    (made,) = await clinic.booked()
    to_eleven = "So I'll move your check-up to Tuesday the 1st of December at 11 am. Shall I go ahead?"
    moved = await run(
        clinic, "move", {"new_start": "2026-12-01T11:00:00+00:00"}, ("agent", to_eleven), ("user", "yes")
    )
    assert moved.ok
    (after,) = await clinic.booked()
    assert after.id == made.id and after.start.hour == 11
    unconfirmed = await run(clinic, "cancel", {}, ("user", "cancel it"))
    assert unconfirmed.status == "refused"
    asked = "I can see your check-up on Tuesday the 1st of December at 11 am. Shall I cancel it?"
    cancelled = await run(clinic, "cancel", {}, ("agent", asked), ("user", "yes"))
    assert cancelled.ok and await clinic.booked() == []
