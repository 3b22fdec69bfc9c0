"""Moving and cancelling in conversation: the appointment is found by the caller's number (and name when
there are several), moved (the same event, never a copy) or cancelled, only on a clear yes."""

from __future__ import annotations

from datetime import datetime

from agent_service.brain.receptionist import OFFER
from tests.appointments.conftest import LONDON, Clinic, local
from tests.appointments.dialogue import Dialogue


async def book(caller: Dialogue, when: str, name: str = "John Smith") -> None:
    await caller.say(f"I'd like to book a check-up {when}")
    await caller.say(when.split(" at ")[-1])  # the time asked for, of the two offered
    await caller.say(name)
    await caller.say("yes")
    assert (await caller.say("yes")).startswith("You're booked in")


async def test_a_caller_moves_their_appointment_and_it_is_not_duplicated(clinic: Clinic) -> None:
    await book(clinic.caller(conversation_id="CA1"), "on Friday at 11")
    (before,) = await clinic.booked()
    caller = clinic.caller(conversation_id="CA2")
    assert await caller.say("Hi, I need to move my appointment") == (
        "I can see your check-up on Friday the 4th of December at 11 am. When would you like to move your "
        "check-up to?"
    )
    offer = await caller.say("next Tuesday afternoon")
    assert offer.startswith("I have Tuesday the 1st of December at 12 pm or")
    assert await caller.say("the first one") == (
        "So I'll move your check-up from Friday the 4th of December at 11 am to Tuesday the 1st of December "
        "at 12 pm. Shall I go ahead?"
    )
    assert (await caller.say("yes")).startswith(
        "Done: your check-up is now on Tuesday the 1st of December at 12 pm"
    )
    (after,) = await clinic.booked()
    assert after.id == before.id and local(after.start) == datetime(2026, 12, 1, 12, tzinfo=LONDON)


async def test_a_caller_cancels_and_the_time_is_free_again(clinic: Clinic) -> None:
    await book(clinic.caller(), "on Friday at 11")
    caller = clinic.caller()
    assert await caller.say("I need to cancel my appointment please") == (
        "I can see your check-up on Friday the 4th of December at 11 am. Shall I cancel it?"
    )
    assert (await caller.say("yes please")).startswith("That's cancelled: your check-up on Friday the 4th")
    assert await clinic.booked() == []


async def test_saying_no_keeps_the_appointment(clinic: Clinic) -> None:
    await book(clinic.caller(), "on Friday at 11")
    caller = clinic.caller()
    await caller.say("cancel my booking")
    assert (await caller.say("no, leave it")).startswith("No problem, I've left your check-up on Friday")
    assert len(await clinic.booked()) == 1


async def test_a_caller_from_another_phone_gives_the_number_they_booked_with(clinic: Clinic) -> None:
    await book(clinic.caller("+447700900123"), "on Friday at 11")
    caller = clinic.caller("+447700900999")
    assert "What number did you book it with" in await caller.say("I want to cancel my appointment")
    assert "I can see your check-up on Friday" in await caller.say("it's 07700 900123")
    await caller.say("yes")
    assert await clinic.booked() == []


async def test_with_several_appointments_the_name_picks_one(clinic: Clinic) -> None:
    family = "+447700900123"
    await book(clinic.caller(family), "on Friday at 11", "John Smith")
    await book(clinic.caller(family), "on Thursday at 3pm", "Mary Smith")
    caller = clinic.caller(family)
    assert "I can see 2 appointments under that number" in await caller.say(
        "I need to reschedule my appointment"
    )
    assert "I can see your check-up on Thursday the 3rd of December at 3 pm" in await caller.say("Mary Smith")


async def test_no_appointment_under_any_number_offers_a_message(clinic: Clinic) -> None:
    caller = clinic.caller()
    assert "What number did you book it with" in await caller.say("I need to move my appointment")
    assert (
        await caller.say("07700 900777")
        == "I'm sorry, I can't find an appointment under that number. " + OFFER
    )
