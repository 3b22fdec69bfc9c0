"""Taking a message across several turns: name, then call-back number, then reason.

The flow keeps no state of its own. Where it is follows from the agent's previous line (each step asks a
fixed question) and the answers are read back out of the conversation's turns, so a conversation
restored from the store, or handled by another process, carries on where it was.
"""

from __future__ import annotations

import re

from agent_service.brain.events import Conversation

ASK_NAME = "Of course, I'll take a message. What's your name?"
_ASK_NUMBER = "Thank you, {name}. What's the best number to call you back on?"
ASK_NUMBER_AGAIN = "Sorry, I didn't catch a phone number. Could you give me the number again, digit by digit?"
_ASK_REASON = "Got it, {number}. And what's it about?"
_DONE = (
    "Thank you, {name}. I've passed your message on, and the team will call you back on {number}. "
    "Is there anything else I can help with?"
)

_ASK_NUMBER_RE = re.compile(r"^Thank you, .*\. What's the best number to call you back on\?$")
_ASK_REASON_RE = re.compile(r"^Got it, (\+?\d+)\. And what's it about\?$")
_NAME_LEAD = re.compile(
    r"^\s*(hi,?\s*)?(my name is|my name's|name's|it's|it is|i'm|i am|this is|call me)\s+", re.I
)
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_SAME_NUMBER = re.compile(
    r"\b(this|same|my) (number|one|phone)\b|\bthe one i'?m (calling|texting) (from|on)\b", re.I
)


def ask_number(name: str) -> str:
    return _ASK_NUMBER.format(name=name)


def ask_reason(number: str) -> str:
    return _ASK_REASON.format(number=number)


def done(name: str, number: str) -> str:
    return _DONE.format(name=name, number=number)


def step(agent_line: str) -> str | None:
    """Which answer the agent's previous line asked for: "name", "number", "reason", or None."""
    if agent_line == ASK_NAME:
        return "name"
    if agent_line == ASK_NUMBER_AGAIN or _ASK_NUMBER_RE.match(agent_line):
        return "number"
    if _ASK_REASON_RE.match(agent_line):
        return "reason"
    return None


def extract_name(text: str) -> str:
    name = _NAME_LEAD.sub("", text).strip(" .!,")
    words = name.split()[:4]
    return " ".join(w[:1].upper() + w[1:] for w in words) or "there"


def extract_number(text: str, caller: str) -> str | None:
    """A phone number spoken or typed as digits or digit words; "this number" means the caller's own."""
    if caller and _SAME_NUMBER.search(text):
        return caller
    digits: list[str] = []
    for token in re.findall(r"\+|\d|[a-z]+", text.lower()):
        if token.isdigit() or (token == "+" and not digits):
            digits.append(token)
        elif token in _DIGIT_WORDS:
            digits.append(_DIGIT_WORDS[token])
        elif token == "double" or token == "triple":
            continue  # "double seven" is rare enough to ask again rather than guess
    number = "".join(digits)
    return number if sum(c.isdigit() for c in number) >= 7 else None


def collected_name(conversation: Conversation) -> str:
    """The user's answer to the most recent ASK_NAME."""
    turns = conversation.turns
    for i in range(len(turns) - 1, 0, -1):
        if turns[i - 1].role == "agent" and turns[i - 1].text == ASK_NAME and turns[i].role == "user":
            return extract_name(turns[i].text)
    return "there"


def number_from_reason_prompt(agent_line: str) -> str:
    match = _ASK_REASON_RE.match(agent_line)
    return match.group(1) if match else ""
