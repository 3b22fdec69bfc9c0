"""Taking a message: the caller's name, a call-back number read back for confirmation, and the reason.

The flow keeps no state of its own. It replays the conversation: each agent line of the flow says which
answer it asked for, and each caller turn adds what it holds (message_parsing finds name, number and
reason anywhere in a sentence, so a caller who gives all three at once is asked for none of them). So a
conversation restored from the store, resumed on another stream, or handled by another process carries
on where it was. The number is never invented: it is what the caller said, or the caller ID (the default,
read back like any number); a reply with no usable number is asked for once more, then the caller ID is
offered; with neither, the message goes without a number.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from agent_service.brain.closing import is_closing
from agent_service.brain.events import Conversation, TakeMessage
from agent_service.brain.message_parsing import find_name, find_number, find_reason, spoken_digits

Step = Literal["name", "number", "reason", "confirm"]

ASK_NAME = "Of course, I'll take a message. What's your name?"
_ASK_NAME_AGAIN = "Sorry, I didn't catch your name. What's your name?"
_ASK_NUMBER = "Thank you, {name}. What's the best number to call you back on?"
_ASK_NUMBER_AFTER_NO = "Sorry about that. What's the best number to call you back on?"
ASK_NUMBER_AGAIN = "Sorry, I didn't catch a phone number. Could you say the number again, digit by digit?"
_ASK_REASON = "Thank you, {name}. What would you like me to pass on?"
_ASK_REASON_AGAIN = "Sorry, I didn't catch that. What would you like me to pass on?"
_CONFIRM = "Let me read that back: {name}, on {number}. Is that right?"
_CONFIRM_AGAIN = "Sorry, I didn't catch that. Let me read that back: {name}, on {number}. Is that right?"
_DONE = "Thank you, {name}. I've passed your message on, and the team will call you back on {number}."
_DONE_NO_NUMBER = (
    "Thank you, {name}. I've passed your message on. I don't have a number for you, so please call "
    "again if you don't hear from us."
)
ANYTHING_ELSE = " Is there anything else I can help with?"

_ASKED: tuple[tuple[Step, re.Pattern[str]], ...] = (
    ("confirm", re.compile(r"Let me read that back:|Is that right\?$")),
    ("number", re.compile(r"number to call you back on\?|didn't catch a phone number")),
    ("reason", re.compile(r"would you like me to pass on\?")),
    ("name", re.compile(r"What's your name\?")),
)
_DONE_MARK = re.compile(r"I've passed your message on")
_YES = re.compile(
    r"^\W*(?:(?:uh|um|oh|er|well)\W+)?(?:yes|yeah|yep|yup|correct|right|exactly|perfect|sure|ok(?:ay)?|"
    r"absolutely|spot on|sounds good|that's (?:it|right|correct)|that is (?:right|correct)|uh[- ]?huh|"
    r"mm[- ]?hmm|great|lovely|fine)\b",
    re.I,
)
_NO = re.compile(r"^\W*(?:(?:uh|um|oh|er|well)\W+)?(?:no|nope|nah|not quite|wrong|incorrect)\b", re.I)


@dataclass(frozen=True, slots=True)
class Draft:
    """What the caller has said so far; `verdict` is about the latest turn only."""

    name: str = ""
    number: str = ""
    number_is_caller_id: bool = False
    reason: str = ""
    name_misses: int = 0
    number_misses: int = 0
    reason_misses: int = 0
    confirm_misses: int = 0
    caller_id_declined: bool = False
    verdict: Literal["", "yes", "no", "changed", "unclear"] = ""


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    message: TakeMessage | None = None  # set once the caller confirmed (or there is nothing to confirm)


def take(conversation: Conversation, *, start: bool) -> Reply | None:
    """The flow's answer to the latest user turn: None when no message is being taken and `start` is
    False (the caller asked for something else)."""
    if is_closing(conversation.last_user_text):
        return _closing(conversation)
    draft, asked = replay(conversation)
    if draft is None:
        if not start:
            return None
        draft = absorb(Draft(), conversation.last_user_text, None, conversation.caller)
    return decide(draft, asked, conversation)


def _closing(conversation: Conversation) -> Reply | None:
    """A caller who says goodbye mid-message: what they gave is kept (their number read back as far as it
    was, else the caller ID), and they are asked whether there is anything else, never hung up on."""
    earlier = Conversation(
        conversation.conversation_id, conversation.turns[:-1], conversation.channel, conversation.caller
    )
    draft, _ = replay(earlier)
    if draft is None or not (draft.name or draft.reason):
        return None  # nothing to keep: the goodbye is answered as any other
    caller = conversation.caller
    number = effective_number(draft, caller) or (
        (caller, True) if caller and not draft.caller_id_declined else ("", False)
    )
    return _done(draft, number, conversation.channel == "voice")


def asked_for(agent_line: str) -> Step | None:
    """Which answer an agent line of the flow asked for; None for any other line."""
    for step, pattern in _ASKED:
        if pattern.search(agent_line):
            return step
    return None


def replay(conversation: Conversation) -> tuple[Draft | None, Step | None]:
    """The message being taken (None: none) and what the agent asked last, after every turn."""
    draft: Draft | None = None
    asked: Step | None = None
    turns = conversation.turns
    for i, turn in enumerate(turns):
        if turn.role == "user":
            if draft is not None:
                draft = absorb(draft, turn.text, asked, conversation.caller)
            continue
        step = None if _DONE_MARK.search(turn.text) else asked_for(turn.text)
        if step is None:
            draft, asked = None, None  # done, or the caller went on to something else
            continue
        if draft is None:  # the turn that asked for a message may already hold some of it
            opening = turns[i - 1].text if i > 0 and turns[i - 1].role == "user" else ""
            draft = absorb(Draft(), opening, None, conversation.caller)
        asked = step
    return draft, asked


def absorb(draft: Draft, text: str, asked: Step | None, caller: str) -> Draft:
    """`draft` with what one caller turn added, given what the agent had asked (None: the opening)."""
    name = find_name(text, bare=asked == "name")
    number, attempt = find_number(text, caller, cued=asked in ("number", "confirm"))
    changes: dict[str, object] = {"verdict": ""}
    if name is not None:
        changes["name"] = name.value
    elif asked == "name":
        changes["name_misses"] = draft.name_misses + 1
    if number is not None:
        changes.update(number=number.value, number_is_caller_id=number.value == caller and bool(caller))
    elif asked == "number" or attempt is not None:
        changes["number_misses"] = draft.number_misses + 1
    if asked in (None, "reason"):
        reason = find_reason(text, [name, attempt], asked=asked == "reason")
        if reason:
            changes["reason"] = reason
        elif asked == "reason":
            changes["reason_misses"] = draft.reason_misses + 1
    if asked == "confirm":
        changes.update(_verdict(draft, text, name is not None or number is not None, caller))
    return dataclasses.replace(draft, **changes)  # type: ignore[arg-type]


def _verdict(draft: Draft, text: str, corrected: bool, caller: str) -> dict[str, object]:
    if corrected:
        return {"verdict": "changed", "confirm_misses": 0}
    if _NO.search(text):
        # The number is what is most often wrong (a caller who corrects the name says so: "no, it's Jo"):
        # ask for it, and no longer offer the caller ID unasked.
        return {
            "verdict": "no",
            "number": "",
            "number_is_caller_id": False,
            "number_misses": 0,
            "caller_id_declined": True,
        }
    if _YES.search(text):
        return {"verdict": "yes"}
    return {"verdict": "unclear", "confirm_misses": draft.confirm_misses + 1}


def effective_number(draft: Draft, caller: str) -> tuple[str, bool] | None:
    """The number to read back and whether it is the caller ID; None while it must be asked for."""
    if draft.number:
        return draft.number, draft.number_is_caller_id
    caller_id = (caller, True) if caller and not draft.caller_id_declined else ("", False)
    if draft.number_misses == 1 or (draft.number_misses == 0 and not caller_id[0]):
        return None
    return caller_id


def decide(draft: Draft, asked: Step | None, conversation: Conversation) -> Reply:
    voice = conversation.channel == "voice"
    name = draft.name or "there"
    number = effective_number(draft, conversation.caller)
    if asked == "confirm" and number is not None and draft.name:
        if draft.verdict == "yes" or (draft.verdict == "unclear" and draft.confirm_misses >= 2):
            return _done(draft, number, voice)
        if draft.verdict == "unclear":
            return Reply(_CONFIRM_AGAIN.format(name=draft.name, number=_read(number, voice)))
    if not draft.name and draft.name_misses < 2:
        if draft.name_misses:
            return Reply(_ASK_NAME_AGAIN)
        return Reply(ASK_NAME)
    if number is None:
        if asked == "confirm" and draft.verdict == "no":
            return Reply(_ASK_NUMBER_AFTER_NO)
        return Reply(ASK_NUMBER_AGAIN if draft.number_misses else _ASK_NUMBER.format(name=name))
    if not draft.reason and draft.reason_misses < 2:
        return Reply(_ASK_REASON_AGAIN if draft.reason_misses else _ASK_REASON.format(name=name))
    if not number[0] or not draft.name:
        return _done(draft, number, voice)  # nothing that a read-back could put right
    return Reply(_CONFIRM.format(name=draft.name, number=_read(number, voice)))


def _read(number: tuple[str, bool], voice: bool) -> str:
    digits = spoken_digits(number[0]) if voice else number[0]
    return f"the number you're calling from, {digits}" if number[1] else digits


def _done(draft: Draft, number: tuple[str, bool], voice: bool) -> Reply:
    name = draft.name or "there"
    if number[0]:
        text = _DONE.format(name=name, number=spoken_digits(number[0]) if voice else number[0])
    else:
        text = _DONE_NO_NUMBER.format(name=name)
    message = TakeMessage(draft.name, number[0], draft.reason, number_is_caller_id=number[1])
    return Reply(text + ANYTHING_ELSE, message)
