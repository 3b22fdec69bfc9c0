"""Intents the receptionist engine recognises before it retrieves facts: they trigger actions, not answers.

Patterns rather than a classifier: the set is small and fixed, a miss falls through to retrieval (and
then to an honest "I don't know"), and every pattern is covered by a paraphrase test.
"""

from __future__ import annotations

import re
from enum import Enum

from agent_service.brain.closing import is_closing


class Intent(Enum):
    TRANSFER = "transfer"
    TAKE_MESSAGE = "take_message"
    GOODBYE = "goodbye"
    THANKS = "thanks"
    GREETING = "greeting"
    SEND_ADDRESS = "send_address"
    AFFIRM = "affirm"
    DENY = "deny"


_PATTERNS: tuple[tuple[Intent, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern, re.IGNORECASE))
    for intent, pattern in (
        (
            Intent.SEND_ADDRESS,
            r"\b(send|text|message|whatsapp|drop)\b.*\b(me|us)\b.*\b(address|location|directions|where)\b"
            r"|\b(address|location|directions)\b.*\b(by|via|over|on)\s+(text|sms|whatsapp|message)\b",
        ),
        (
            Intent.TAKE_MESSAGE,
            r"\b(leave|take|pass on)\b.*\bmessage\b|\bcall me back\b|\bring me back\b|\bcallback\b"
            r"|^\s*(a\s+)?message( please)?[.!]?\s*$|\b(take|have) my (details|number)\b",
        ),
        (
            Intent.TRANSFER,
            r"\b(speak|talk|chat)\b.*\b(to|with)\b.*\b(person|human|someone|somebody|anyone|manager|"
            r"receptionist|staff|team|dentist|doctor|real|agent|operator)\b"
            r"|\b(transfer|put)\b.*\b(me|through)\b|\breal person\b|\bhuman\b|\boperator\b",
        ),
        (
            Intent.THANKS,
            r"^\s*(ok(ay)?,?\s*)?(thanks|thank you|cheers|great|perfect|lovely)"
            r"( very much| so much| a lot)?[.!]*\s*$",
        ),
        (Intent.GREETING, r"^\s*(hi|hello|hey|good (morning|afternoon|evening))( there)?[.!,]?\s*$"),
        (Intent.AFFIRM, r"^\s*(yes|yeah|yep|sure|please|ok(ay)?|go ahead|yes please|that would be great)\b"),
        (Intent.DENY, r"^\s*(no|nope|not really|no thanks?|no thank you)\b"),
    )
)


def detect(text: str) -> Intent | None:
    for intent, pattern in _PATTERNS:
        if intent is Intent.THANKS and is_closing(text):
            # Only a whole-utterance closing is a goodbye (closing.py): a word in a question never is.
            return Intent.GOODBYE
        if pattern.search(text):
            return intent
    return None
