"""When a conversation may end: only when the caller clearly closes it, after being asked whether there is
anything else.

A loose pattern once took "Do you treat children?" (heard as "See you treat children?") for a goodbye and
hung up. So a closing is the whole utterance, not a word in it: every word must belong to a closing
("no", "that's all", "thanks", "bye", fillers), and a question is never one. A clear goodbye ends the call
only as the answer to ANYTHING_ELSE; anywhere else the caller is asked that first, so a misheard
goodbye costs one question, never the call.
"""

from __future__ import annotations

import re

from agent_service.brain.events import Conversation

ANYTHING_ELSE = "Is there anything else I can help with?"
BEFORE_YOU_GO = "Before you go, is there anything else I can help with?"
GO_ON = "Of course. What would you like to know?"

# Words a closing may be made of. Deliberately not "I", "and", "but", "do", "the": "no, I have another
# question", "bye the way", "thanks, and do you..." are not closings.
_CLOSING_WORDS = frozenset(
    """
    ok okay alright right great perfect lovely brilliant fine good cheers thanks thank you ta much very so
    lot a bye goodbye good-bye bye-bye see take care have nice day that's thats that is it's all it
    everything for now nothing else no nope nah not really i'm im done sorted set then oh well um uhm
    uh er erm mm yeah yes
    """.split()  # noqa: SIM905 (a word list reads better as words)
)
# A closing names its end: a farewell, or "that's all"/"nothing else"/"I'm done". "Thanks" or "no" alone
# are not one (they are answered on their own: see the receptionist).
_FAREWELL = re.compile(r"\b(bye|goodbye|good-bye|bye-bye|see you|take care|have a (nice|good|lovely) day)\b")
_DONE = re.compile(
    r"\b(that'?s (all|it|everything)|that is (all|it|everything)|nothing else|i'?m (done|all set|sorted)"
    r"|all (done|sorted|set)|that'?ll be all|it'?s all)\b"
)
_QUESTION_START = re.compile(
    r"^(do|does|did|can|could|would|will|is|are|was|were|what|when|where|who|why|how|which|should|may"
    r"|have you|has)\b"
)
_WORD = re.compile(r"[a-z'-]+")


def _normalised(text: str) -> str:
    return text.lower().replace("’", "'").strip()


def is_closing(text: str) -> bool:
    """The whole utterance says goodbye or that the caller is done; never a question."""
    said = _normalised(text)
    if not said or "?" in said or _QUESTION_START.match(said):
        return False
    words = _WORD.findall(said)
    if not words or any(w.strip("'-") not in _CLOSING_WORDS for w in words):
        return False
    return bool(_FAREWELL.search(said) or _DONE.search(said))


def is_plain_no(text: str) -> bool:
    """ "No", "no thanks", "nope, that's fine": declining, with nothing else said."""
    said = _normalised(text)
    if "?" in said or not re.match(r"^(no|nope|nah|not really)\b", said):
        return False
    return all(w.strip("'-") in _CLOSING_WORDS for w in _WORD.findall(said))


_MORE = re.compile(r"\b(another|one more|other|a|more|some) (question|thing|things|questions)\b|\bactually\b")


def wants_more(text: str) -> bool:
    """ "No, I have another question": the caller is not done, whatever word they started with."""
    return bool(_MORE.search(_normalised(text)))


def asked_anything_else(agent_line: str) -> bool:
    return agent_line.rstrip().lower().endswith(ANYTHING_ELSE.lower())  # BEFORE_YOU_GO too


def may_end(conversation: Conversation) -> bool:
    """The caller's latest turn closes the conversation, answering the agent's ANYTHING_ELSE."""
    text = conversation.last_user_text
    return asked_anything_else(conversation.last_agent_text) and (is_closing(text) or is_plain_no(text))
