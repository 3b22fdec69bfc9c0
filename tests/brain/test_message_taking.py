"""Taking a message through the receptionist, turn by turn, for a table of ways callers put it: all at
once, bit by bit, with no number, with something that is not a phone number, correcting the read-back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from agent_service.brain import Conversation, TakeMessage, TransferCall, Turn, respond_fully
from agent_service.brain.message_parsing import find_name, find_number, spoken_digits
from agent_service.brain.receptionist import DONT_KNOW, ReceptionistBrain
from agent_service.knowledge import Knowledge

CALLER = "+15005550006"
CALLER_READ = "the number you're calling from, plus 1 5 0, 0 5 5 5, 0 0 0 6"
CONFIRMED = "I've passed your message on"


@dataclass(frozen=True)
class Case:
    name: str
    turns: tuple[tuple[str, str], ...]  # (what the caller says, what the agent's answer contains)
    message: TakeMessage | None
    caller: str = CALLER
    channel: Literal["voice", "whatsapp"] = "voice"


CASES = [
    Case(
        "all three in one sentence",
        (
            (
                "Hi, this is John Smith, my number is 555 123 4567, please ask Doctor Patel to call me back",
                "Let me read that back: John Smith, on 5 5 5, 1 2 3, 4 5 6 7. Is that right?",
            ),
            ("Yes, that's right.", CONFIRMED + ", and the team will call you back on 5 5 5, 1 2 3, 4 5 6 7."),
        ),
        TakeMessage("John Smith", "5551234567", "Please ask Doctor Patel to call me back"),
    ),
    Case(
        "all three in one sentence as Whisper writes it, without punctuation",
        (
            (
                "my name is john smith my number is five five five one two three four five six seven "
                "please ask doctor patel to call me back",
                "Let me read that back: John Smith, on 5 5 5, 1 2 3, 4 5 6 7. Is that right?",
            ),
            ("yeah", CONFIRMED),
        ),
        TakeMessage("John Smith", "5551234567", "Please ask doctor patel to call me back"),
    ),
    Case(
        "name and reason at once: the caller ID is read back as the default",
        (
            (
                "Hi, this is John Smith. Please ask Doctor Patel to call me back about my crown.",
                f"Let me read that back: John Smith, on {CALLER_READ}. Is that right?",
            ),
            ("Yes.", CONFIRMED),
        ),
        TakeMessage(
            "John Smith",
            CALLER,
            "Please ask Doctor Patel to call me back about my crown",
            number_is_caller_id=True,
        ),
    ),
    Case(
        "bit by bit, correcting the caller ID with a number of their own",
        (
            ("can I leave a message", "What's your name?"),
            ("uh, jo bloggs", "Thank you, Jo Bloggs. What would you like me to pass on?"),
            ("braces for my son", f"on {CALLER_READ}. Is that right?"),
            ("no", "Sorry about that. What's the best number to call you back on?"),
            (
                "oh seven seven double oh, nine oh oh, one two three",
                "on 0 7 7, 0 0 9 0, 0 1 2 3. Is that right?",
            ),
            ("correct", "call you back on 0 7 7, 0 0 9 0, 0 1 2 3"),
        ),
        TakeMessage("Jo Bloggs", "07700900123", "Braces for my son"),
    ),
    Case(
        "no caller ID and no number: asked twice, then taken without one (never invented)",
        (
            ("I'd like to leave a message", "What's your name?"),
            ("Sam", "Thank you, Sam. What's the best number to call you back on?"),
            ("I'm not sure", "Sorry, I didn't catch a phone number"),
            ("I don't know it", "Thank you, Sam. What would you like me to pass on?"),
            ("my crown came off", "I don't have a number for you"),
        ),
        TakeMessage("Sam", "", "My crown came off"),
        caller="",
    ),
    Case(
        "a number too short to be one: asked once more, then the caller ID with confirmation",
        (
            (
                "This is Ann Lee, please take a message, my number is 12345, it's about my bill",
                "Sorry, I didn't catch a phone number",
            ),
            ("sorry, I can't remember", f"Let me read that back: Ann Lee, on {CALLER_READ}. Is that right?"),
            ("yes please", CONFIRMED),
        ),
        TakeMessage("Ann Lee", CALLER, "My bill", number_is_caller_id=True),
    ),
    Case(
        "a number too long to be one is asked for again",
        (
            ("could someone call me back, my name is Ann Lee", "What would you like me to pass on?"),
            ("my invoice", f"on {CALLER_READ}. Is that right?"),
            ("no", "What's the best number to call you back on?"),
            ("1234 5678 9012 3456 789", "Sorry, I didn't catch a phone number"),
            ("plus four four seven seven double oh nine oh oh one two three", "on plus 4 4 7,"),
            ("that's right", CONFIRMED),
        ),
        TakeMessage("Ann Lee", "+447700900123", "My invoice"),
    ),
    Case(
        "this number means the caller's own, in a chat read back as written",
        (
            ("please take a message, it's Jo", "Thank you, Jo. What would you like me to pass on?"),
            (
                "moving my check-up",
                f"Let me read that back: Jo, on the number you're calling from, {CALLER}.",
            ),
            ("no", "What's the best number to call you back on?"),
            (
                "this number is fine",
                f"Let me read that back: Jo, on the number you're calling from, {CALLER}.",
            ),
            ("yes", f"call you back on {CALLER}."),
        ),
        TakeMessage("Jo", CALLER, "Moving my check-up", number_is_caller_id=True),
        channel="whatsapp",
    ),
    Case(
        "a correction to the read-back is read back again",
        (
            (
                "Message for the team: this is Priya Shah, call me back on 07700 900123 about an invoice",
                "0 1 2 3.",
            ),
            ("no, it's 07700 900124", "on 0 7 7, 0 0 9 0, 0 1 2 4. Is that right?"),
            ("no, my name is Priya Shaw", "Let me read that back: Priya Shaw, on 0 7 7, 0 0 9 0, 0 1 2 4."),
            ("perfect", CONFIRMED),
        ),
        TakeMessage("Priya Shaw", "07700900124", "An invoice"),
    ),
    Case(
        "a question instead of a name is not taken for the name",
        (
            ("can I leave a message?", "What's your name?"),
            ("what are your opening hours?", "Sorry, I didn't catch your name."),
            ("Tom", "Thank you, Tom. What would you like me to pass on?"),
            ("my filling", "Is that right?"),
            ("mm hmm", CONFIRMED),
        ),
        TakeMessage("Tom", CALLER, "My filling", number_is_caller_id=True),
    ),
    Case(
        "an unclear answer to the read-back is asked once more, then the message is kept",
        (
            ("this is Li Wei, I'd like to leave a message about whitening", "Is that right?"),
            ("the weather is lovely", "Sorry, I didn't catch that. Let me read that back"),
            ("purple monkey dishwasher", CONFIRMED),
        ),
        TakeMessage("Li Wei", CALLER, "Whitening", number_is_caller_id=True),
    ),
    Case(
        "a reason first, then only the name is asked for",
        (
            ("could someone call me back about my bill", "Of course, I'll take a message. What's your name?"),
            ("Ann", f"Let me read that back: Ann, on {CALLER_READ}. Is that right?"),
            ("yes", CONFIRMED),
        ),
        TakeMessage("Ann", CALLER, "My bill", number_is_caller_id=True),
    ),
    Case(
        "after the offer, yes starts a message",
        (
            ("Do you do braces?", DONT_KNOW),
            ("yes, a message please", "Of course, I'll take a message. What's your name?"),
            (
                "Jo Bloggs and my number is 07700 900123",
                "Thank you, Jo Bloggs. What would you like me to pass on?",
            ),
            ("braces for my son", "Let me read that back: Jo Bloggs, on 0 7 7, 0 0 9 0, 0 1 2 3."),
            ("yep", CONFIRMED),
        ),
        TakeMessage("Jo Bloggs", "07700900123", "Braces for my son"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_message_is_taken_as_the_caller_puts_it(case: Case, knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    turns: list[Turn] = []
    taken: list[object] = []
    for said, expected in case.turns:
        turns.append(Turn("user", said))
        answer = await respond_fully(
            brain, Conversation("c", tuple(turns), channel=case.channel, caller=case.caller)
        )
        assert expected in answer.text, (said, answer.text)
        turns.append(Turn("agent", answer.text))
        taken.extend(a for a in answer.actions if isinstance(a, TakeMessage))
        # Only the last turn takes the message: nothing is stored before the caller confirmed it.
        assert bool(taken) == (said == case.turns[-1][0]), (said, taken)
    assert taken == [case.message]


async def test_a_goodbye_mid_message_keeps_what_was_given_and_asks_if_there_is_anything_else(
    knowledge: Knowledge,
) -> None:
    brain = ReceptionistBrain(knowledge)
    turns = (
        Turn("user", "can I leave a message, this is Jo Bloggs"),
        Turn("agent", "Thank you, Jo Bloggs. What would you like me to pass on?"),
        Turn("user", "oh, that's all, thanks, bye"),
    )
    answer = await respond_fully(brain, Conversation("c", turns, channel="voice", caller=CALLER))
    assert answer.actions == (TakeMessage("Jo Bloggs", CALLER, "", number_is_caller_id=True),)
    assert answer.text.endswith("Is there anything else I can help with?")  # not hung up on
    nothing_yet = (
        Turn("user", "can I leave a message"),
        Turn("agent", "Of course, I'll take a message. What's your name?"),
        turns[2],
    )
    answer = await respond_fully(brain, Conversation("c", nothing_yet, channel="voice", caller=CALLER))
    assert not any(isinstance(a, TakeMessage) for a in answer.actions)


async def test_asking_for_a_person_mid_message_puts_them_through(knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    turns = (
        Turn("user", "can I leave a message"),
        Turn("agent", "Of course, I'll take a message. What's your name?"),
        Turn("user", "actually can I speak to a real person"),
    )
    answer = await respond_fully(brain, Conversation("c", turns, caller=CALLER))
    assert [type(a) for a in answer.actions] == [TransferCall]


async def test_a_finished_message_does_not_catch_the_next_question(knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    done = "Thank you, Jo. I've passed your message on, and the team will call you back on 5 5 5."
    turns = (
        Turn("user", "message please, this is Jo"),
        Turn("agent", done),
        Turn("user", "Where are you based?"),
    )
    answer = await respond_fully(brain, Conversation("c", turns, caller=CALLER))
    assert answer.text.startswith("We're at 42 Harbour Street")
    assert not any(isinstance(a, TakeMessage) for a in answer.actions)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("07700 900 123", "07700900123"),
        ("Oh, it's 0 7 7 0 0 9 0 0 1 2 3", "07700900123"),
        ("my number's 555-123-4567", "5551234567"),
        ("I'm 42 and my number is 07700900123", "07700900123"),
        ("call me back on double seven double oh nine oh oh one two", "770090012"),
        ("my invoice is 12345678", None),
        ("we open at 9 and close at 5", None),
        ("my number is 12345", None),
    ],
)
def test_numbers_are_found_only_where_a_caller_gives_one(text: str, number: str | None) -> None:
    found, _ = find_number(text, CALLER)
    assert (found.value if found else None) == number


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, this is John Smith.", "John Smith"),
        ("my name's priya shah and my number is 0770", "Priya Shah"),
        ("I'm calling about my crown", None),
        ("it's about my bill", None),
        ("this is about Doctor Patel", None),
    ],
)
def test_names_are_found_after_a_lead_only(text: str, name: str | None) -> None:
    found = find_name(text)
    assert (found.value if found else None) == name


def test_numbers_are_read_back_digit_by_digit_in_groups() -> None:
    assert spoken_digits("07700900123") == "0 7 7, 0 0 9 0, 0 1 2 3"
    assert spoken_digits("5551234567") == "5 5 5, 1 2 3, 4 5 6 7"
    assert spoken_digits("+447700900123") == "plus 4 4 7, 7 0 0, 9 0 0, 1 2 3"
