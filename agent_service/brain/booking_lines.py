"""What the booking dialogue says, how its own lines are recognised again, and how a caller's short
answers are read (which service, which of two slots, a clear yes).

The dialogue keeps no state (booking_flow.py replays the conversation), so every line that asks for
something says so in words these patterns find, and carries the slots, service and appointment it is
about in the fixed spoken form of scheduling/phrases.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from agent_service.knowledge import Service
from agent_service.scheduling import WhenAsked

Kind = Literal["book", "move", "cancel"]
Step = Literal[
    "service", "when", "choose", "name", "number", "confirm", "lookup_number", "lookup_name", "pick"
]

ANYTHING_ELSE = " Is there anything else I can help with?"
ASK_SERVICE = "Of course. Which would you like to book: {services}?"
ASK_WHEN = "When would you like to come in for your {service}?"
ASK_WHEN_MOVE = "When would you like to move your {service} to?"
OFFER_TWO = "I have {first} or {second} for your {service}. Which would suit you?"
OFFER_ONE = "I have {first} for your {service}. Would that suit you?"
NOTHING_THEN = "I'm sorry, I don't have anything free for a {service} then. "
TAKEN = "I'm sorry, that time has just been taken. "
ASK_NAME = "Lovely, {slot} it is. What name shall I book it under?"
ASK_NAME_AGAIN = "Sorry, I didn't catch your name. What name shall I book it under?"
CONFIRM_CALLER_ID = (
    "Thank you, {name}. Shall I put down the number you're calling from, {number}, to reach you on?"
)
ASK_NUMBER = "Thank you, {name}. What's the best phone number to reach you on?"
ASK_NUMBER_AGAIN = "Sorry, I didn't catch a phone number. What's the best phone number to reach you on?"
CONFIRM_BOOK = "So that's {slot}, a {service}, for {name} on {number}. Shall I book it?"
BOOKED = "You're booked in for {slot}, a {service}. We'll see you then!"
FOUND = "I can see your {service} on {slot}. "
CONFIRM_MOVE = "So I'll move your {service} from {old} to {new}. Shall I go ahead?"
MOVED = "Done: your {service} is now on {new}, and the old time is free."
CONFIRM_CANCEL = "Shall I cancel it?"
CANCELLED = "That's cancelled: your {service} on {slot}."
KEPT = "No problem, I've left your {service} on {slot} as it is."
NOT_BOOKED = "No problem, I haven't booked anything. "
ASK_BOOKED_NUMBER = "What number did you book it with, so I can {verb} it?"
ASK_LOOKUP_NUMBER = (
    "I can't find an appointment under {whose}. What number did you book it with, so I can {verb} it?"
)
ASK_LOOKUP_NAME = (
    "I can see {count} appointments under that number. What name is the one you'd like to {verb} under?"
)
PICK = "Which one would you like to {verb}: {choices}?"
NOT_FOUND = "I'm sorry, I can't find an appointment under that number. "
CALENDAR_DOWN = "I'm sorry, I can't reach our calendar just now, so nothing has been {done}. "
NO_SLOTS = "I'm sorry, I have nothing free for a {service} in the next few weeks. "
NOT_BOOKABLE = "I'm sorry, I can't book a {service} myself. "
DIDNT_CATCH = "Sorry, I didn't catch that. "

_ASKED: tuple[tuple[Step, re.Pattern[str]], ...] = (
    ("confirm", re.compile(r"Shall I (?:book it|go ahead|cancel it)\?")),
    ("name", re.compile(r"What name shall I book it under\?")),
    ("number", re.compile(r"to reach you on\?")),
    ("lookup_name", re.compile(r"What name is the one you'd like to (?:move|cancel) under\?")),
    ("lookup_number", re.compile(r"What number did you book it with, so I can (?:move|cancel) it\?")),
    ("pick", re.compile(r"Which one would you like to (?:move|cancel):")),
    ("choose", re.compile(r"(?:Which would|Would that) suit you\?")),
    ("when", re.compile(r"When would you like to (?:come in|move your)")),
    ("service", re.compile(r"Which would you like to book:")),
)
_MOVE_MARK = re.compile(r"\bmove (?:your|it)\b|so I can move it|like to move")
_CANCEL_MARK = re.compile(r"Shall I cancel it\?|so I can cancel it|like to cancel")

YES = re.compile(
    r"^\W*(?:(?:uh|um|oh|er|well|ok|okay)\W+)?(?:yes|yeah|yep|yup|correct|right|sure|please|go ahead|"
    r"book it|do it|perfect|great|lovely|fine|that's (?:fine|great|perfect|right|correct)|sounds good|"
    r"absolutely|definitely|ok(?:ay)?)\b(?!.*\b(?:no|not|don't|wait|hang on|actually)\b)",
    re.I,
)
NO = re.compile(
    r"^\W*(?:(?:uh|um|oh|er|well)\W+)?(?:no|nope|nah|not really|neither|don't|wait|actually)\b", re.I
)
_BOOK = re.compile(
    r"\b(?:book|booking|make an appointment|an appointment|appointment for|come in|get in|see (?:the|a) "
    r"(?:dentist|hygienist)|any (?:slots|space|availability|appointments)|free slots?)\b",
    re.I,
)
_MOVE = re.compile(
    r"\b(?:move|reschedule|re-schedule|rearrange|re-arrange|change|postpone|bring forward|push back)\b"
    r".*\b(?:appointment|booking)\b|\b(?:appointment|booking)\b.*\b(?:moved|rescheduled|changed)\b",
    re.I,
)
_CANCEL = re.compile(r"\bcancel\b.*\b(?:appointment|booking|it)\b|\bcancel(?:led)? my\b", re.I)
# Asking about the policy or the website is a question for the knowledge file, not a request.
_ABOUT = re.compile(
    r"^\W*how (?:do|can|would|should) (?:I|you)\b"
    r"|\b(?:online|website|web site|internet|notice|fee|policy|wait for|how long)\b",
    re.I,
)


def wants(text: str) -> Kind | None:
    """Whether the caller asks to book, move or cancel an appointment (not asks about doing so)."""
    if _ABOUT.search(text):
        return None
    if _CANCEL.search(text):
        return "cancel"
    if _MOVE.search(text):
        return "move"
    return "book" if _BOOK.search(text) else None


def asked_for(line: str) -> Step | None:
    for step, pattern in _ASKED:
        if pattern.search(line):
            return step
    return None


def kind_of(line: str) -> Kind | None:
    if _CANCEL_MARK.search(line):
        return "cancel"
    if _MOVE_MARK.search(line):
        return "move"
    return None


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "


def service_in(text: str, services: Sequence[Service]) -> Service | None:
    """The service the text names (its name or an alias), the longest mention winning ("check-up plus
    clean" over "check-up")."""
    words = _words(text)
    best: tuple[int, Service] | None = None
    for service in services:
        for name in (service.name, *service.aliases):
            key = _words(name)
            if key.strip() and key in words and (best is None or len(key) > best[0]):
                best = (len(key), service)
    return best[1] if best else None


def service_list(services: Sequence[Service]) -> str:
    names = [f"a {s.name}" for s in services]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


_FIRST = re.compile(
    r"\b(?:first|earlier|former|1st|the one before|sooner|either|any|whichever|don't mind)\b", re.I
)
_SECOND = re.compile(r"\b(?:second|later|latter|last|2nd|other one|the one after)\b", re.I)


def pick(text: str, offered: Sequence[datetime], asked: WhenAsked | None) -> int | None:
    """Which of the offered slots the caller chose: by position ("the first", "the later one"), by the
    time or day they name, or a plain yes to a single slot."""
    if not offered:
        return None
    if asked is not None:
        matches = [
            i
            for i, slot in enumerate(offered)
            if (asked.at is None or slot.time().replace(second=0) == asked.at)
            and (asked.any_day or asked.first_day <= slot.date() <= asked.last_day)
        ]
        if len(matches) == 1:
            return matches[0]
    if _SECOND.search(text) and len(offered) > 1:
        return 1
    if _FIRST.search(text):
        return 0
    if len(offered) == 1 and YES.search(text):
        return 0
    return None
