"""Booking in conversation (WhatsApp and voice alike): service, when, two nearest free slots, a read-back,
a booking only on a clear yes, with the caller's name and confirmed number, into the real calendar."""

from __future__ import annotations

from datetime import datetime

from agent_service.brain.events import TakeMessage
from agent_service.brain.receptionist import OFFER
from tests.appointments.conftest import LONDON, Clinic, local


async def test_a_caller_books_a_cleaning_for_next_tuesday_afternoon(clinic: Clinic) -> None:
    caller = clinic.caller(conversation_id="wa-chat-7")
    offer = await caller.say("I would like to book a cleaning for next Tuesday afternoon")
    assert offer == (
        "I have Tuesday the 1st of December at 12 pm or Tuesday the 1st of December at 12:15 pm for your "
        "scale and polish. Which would suit you?"
    )
    assert "What name" in await caller.say("the second one please")
    number = await caller.say("John Smith")
    assert "the number you're calling from, +447700900123" in number
    read_back = await caller.say("yes")
    assert read_back == (
        "So that's Tuesday the 1st of December at 12:15 pm, a scale and polish, for John Smith on "
        "+447700900123. Shall I book it?"
    )
    assert await clinic.booked() == []  # nothing until the yes
    done = await caller.say("Yes please")
    assert done.startswith(
        "You're booked in for Tuesday the 1st of December at 12:15 pm, a scale and polish."
    )
    (made,) = await clinic.booked()
    assert local(made.start) == datetime(2026, 12, 1, 12, 15, tzinfo=LONDON)
    assert (made.end - made.start).total_seconds() == 30 * 60
    assert (made.name, made.phone, made.service, made.source) == (
        "John Smith",
        "+447700900123",
        "scale and polish",
        "wa-chat-7",
    )


async def test_the_service_and_the_time_are_asked_for_when_not_given(clinic: Clinic) -> None:
    caller = clinic.caller()
    assert (await caller.say("Can I make an appointment?")).startswith(
        "Of course. Which would you like to book: a check-up,"
    )
    assert await caller.say("a check-up please") == "When would you like to come in for your check-up?"
    offer = await caller.say("tomorrow at ten")
    assert "Tuesday the 1st of December at 10 am" in offer and offer.endswith("Which would suit you?")


async def test_a_date_that_does_not_exist_is_said_so_and_asked_again(clinic: Clinic) -> None:
    caller = clinic.caller()
    await caller.say("I'd like to book a check-up")
    assert await caller.say("the 31st of November") == (
        "There's no 31st of November. When would you like to come in for your check-up?"
    )
    assert "yesterday" not in await caller.say("yesterday")  # a past day is refused the same way
    assert "already gone" in caller.turns[-1].text


async def test_a_closed_day_offers_the_nearest_open_times(clinic: Clinic) -> None:
    caller = clinic.caller()
    offer = await caller.say("Can I book a check-up on Sunday?")
    assert offer.startswith(
        "I'm sorry, I don't have anything free for a check-up then. I have Monday the 7th"
    )


async def test_nothing_is_booked_without_a_clear_yes(clinic: Clinic) -> None:
    caller = clinic.caller()
    await caller.say("I want to book a check-up on Friday at 11")
    await caller.say("the first")
    await caller.say("Jo Bloggs")
    await caller.say("yes")
    assert (await caller.say("hmm, let me think")).startswith("Sorry, was that a yes? So that's Friday")
    assert (
        await caller.say("no")
        == "No problem, I haven't booked anything. When would you like to come in for your check-up?"
    )
    assert await clinic.booked() == []


async def test_the_caller_may_give_another_number_and_hears_it_read_back(clinic: Clinic) -> None:
    caller = clinic.caller(channel="voice")
    await caller.say("I'd like to book a filling next Wednesday morning")
    await caller.say("the earlier one")
    await caller.say("It's Ann Other")
    assert "What's the best phone number" in await caller.say("no, not that one")
    read_back = await caller.say("07700 900456")
    assert "for Ann Other on 0 7 7, 0 0 9 0, 0 4 5 6. Shall I book it?" in read_back
    await caller.say("yes")
    (made,) = await clinic.booked()
    assert made.phone == "07700900456" and made.channel == "voice"


async def test_two_callers_wanting_one_slot_get_it_once_and_the_other_is_offered_the_next(
    clinic: Clinic,
) -> None:
    first, second = (
        clinic.caller(conversation_id="CA1"),
        clinic.caller("+447700900456", conversation_id="CA2"),
    )
    for caller, name in ((first, "John Smith"), (second, "Ann Other")):
        await caller.say("book a check-up tomorrow at ten please")
        await caller.say("10 am")
        await caller.say(name)
        await caller.say("yes")
    assert (await first.say("yes")).startswith("You're booked in for Tuesday the 1st of December at 10 am")
    lost = await second.say("yes")
    assert lost.startswith(
        "I'm sorry, that time has just been taken. I have Tuesday the 1st of December at 9:30 am or "
        "Tuesday the 1st of December at 10:30 am"
    )
    assert "at 10 am " not in lost
    (made,) = await clinic.booked()
    assert made.name == "John Smith"
    # The second caller takes the next one offered.
    await second.say("the later one")
    await second.say("Ann Other")
    await second.say("yes")
    assert (await second.say("yes")).startswith("You're booked in")
    assert sorted(a.name for a in await clinic.booked()) == ["Ann Other", "John Smith"]


async def test_questions_about_appointments_are_answered_from_the_knowledge(clinic: Clinic) -> None:
    caller = clinic.caller()
    assert "24 hours' notice" in await caller.say("How do I cancel my appointment?")
    assert "brightsmile.example/book" in await caller.say("Can I book online?")
    assert "45 pounds" in await caller.say("How much is a check-up?")


async def test_asking_for_a_person_mid_booking_is_put_through(clinic: Clinic) -> None:
    caller = clinic.caller()
    await caller.say("I'd like to book a check-up")
    assert "put you through" in await caller.say("can I speak to a real person?")


async def test_a_calendar_that_is_down_books_nothing_and_offers_a_message(clinic: Clinic) -> None:
    caller = clinic.caller()
    await caller.say("book a check-up on Friday at 11")
    await caller.say("the first one")
    await caller.say("John Smith")
    await caller.say("yes")
    await clinic.calendar.close()
    clinic.appointments.calendar = _Broken()  # type: ignore[assignment]
    down = await caller.say("yes")
    assert down == "I'm sorry, I can't reach our calendar just now, so nothing has been booked. " + OFFER
    assert "booked in" not in down
    # The offer leads to a message for the team, as anywhere else.
    assert await caller.say("a message please") == "Of course, I'll take a message. What's your name?"
    await caller.say("John Smith")
    await caller.say("I wanted a check-up on Friday")
    assert "I've passed your message on" in await caller.say("yes")
    assert caller.actions == [
        TakeMessage("John Smith", "+447700900123", "I wanted a check-up on Friday", number_is_caller_id=True)
    ]


class _Broken:
    name = "broken"

    async def busy(self, *args: object) -> list[object]:
        from agent_service.errors import CalendarUnavailable

        raise CalendarUnavailable("the calendar could not be reached")

    create = move = cancel = find = appointments = busy
