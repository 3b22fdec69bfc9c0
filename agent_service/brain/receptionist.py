"""The `receptionist` brain: intents plus retrieval over the knowledge file. No model, instant, and it
can only ever say what the file says; below its confidence threshold it says so and offers a message or
a transfer. The LLM brains sit behind it (hybrid.py) and get the questions it is unsure of.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agent_service.brain import message_taking as msg
from agent_service.brain.closing import BEFORE_YOU_GO, GO_ON, asked_anything_else, may_end, wants_more
from agent_service.brain.events import (
    BrainEvent,
    Conversation,
    EndCall,
    Lookup,
    SendWhatsApp,
    TextDelta,
    TransferCall,
)
from agent_service.brain.intents import Intent, detect
from agent_service.brain.matching import KnowledgeMatcher
from agent_service.brain.retrieval import Matcher
from agent_service.knowledge import Knowledge

DEFAULT_CONFIDENCE = 0.6
OFFER = "I can take a message for the team, or put you through to someone now. Which would you prefer?"
DONT_KNOW = "I'm sorry, I don't have that information. " + OFFER
TRANSFERRING = "Of course, I'll put you through to a member of the team now."


@dataclass(frozen=True, slots=True)
class _Doc:
    topic: str
    text: str  # what is indexed
    answer: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """The receptionist's answer, and whether it is sure of it (intent or retrieval above threshold)."""

    confident: bool
    events: tuple[BrainEvent, ...]
    topic: str
    confidence: float


class ReceptionistBrain:
    name = "receptionist"

    def __init__(
        self, knowledge: Knowledge, threshold: float = DEFAULT_CONFIDENCE, matcher: Matcher | None = None
    ) -> None:
        self.knowledge = knowledge
        self._threshold = threshold
        self._docs = documents(knowledge)
        # `matcher` indexes documents(knowledge) in that order (bench/understanding.py passes the old one).
        self._index = matcher or KnowledgeMatcher.for_knowledge(knowledge, [doc.text for doc in self._docs])

    async def respond(self, conversation: Conversation) -> AsyncIterator[BrainEvent]:
        for event in self.assess(conversation).events:
            yield event

    def deferral(self) -> tuple[BrainEvent, ...]:
        return (TextDelta(DONT_KNOW),)

    def assess(self, conversation: Conversation) -> Assessment:
        text = conversation.last_user_text
        intent = detect(text)
        flow = self._message_flow(conversation, intent)
        if flow is not None:
            return flow
        if intent is not None and (by_intent := self._by_intent(conversation, intent)) is not None:
            return by_intent
        match = self._index.search(text)
        if match is None or match.confidence < self._threshold:
            if asked_anything_else(conversation.last_agent_text) and wants_more(text):
                return _sure("go_on", GO_ON)
            confidence = match.confidence if match else 0.0
            return Assessment(False, self.deferral(), "unknown", confidence)
        doc = self._docs[match.index]
        return Assessment(True, (Lookup(text, doc.topic), TextDelta(doc.answer)), doc.topic, match.confidence)

    def _message_flow(self, conversation: Conversation, intent: Intent | None) -> Assessment | None:
        text = conversation.last_user_text
        previous = conversation.last_agent_text
        if intent is Intent.TRANSFER:
            return None  # a caller who asks for a person mid-flow gets one
        offered = previous.endswith(OFFER)
        asks = intent is Intent.AFFIRM or bool(re.search(r"\bmessage\b", text, re.I))
        start = intent is Intent.TAKE_MESSAGE or (offered and asks)
        reply = msg.take(conversation, start=start)
        if reply is not None:
            if reply.message is None:
                return _sure("take_message", reply.text)
            return Assessment(True, (reply.message, TextDelta(reply.text)), "take_message", 1.0)
        if previous.endswith(OFFER) and re.search(r"\b(put|through|transfer|someone|person)\b", text, re.I):
            return self._transfer()
        if previous.endswith(OFFER) and intent is Intent.DENY:
            return _sure("declined", "No problem. Is there anything else I can help with?")
        return None

    def _by_intent(self, conversation: Conversation, intent: Intent) -> Assessment | None:
        k = self.knowledge
        if intent is Intent.TRANSFER:
            return self._transfer()
        if intent is Intent.TAKE_MESSAGE:
            return _sure("take_message", msg.ASK_NAME)
        if intent is Intent.GOODBYE and not asked_anything_else(conversation.last_agent_text):
            return _sure("goodbye", BEFORE_YOU_GO)  # a misheard goodbye must cost a question, not the call
        if intent in (Intent.GOODBYE, Intent.DENY) and may_end(conversation):
            goodbye = f"Thank you for contacting {k.name}. Goodbye!"
            return Assessment(True, (TextDelta(goodbye), EndCall("goodbye")), "goodbye", 1.0)
        if intent is Intent.THANKS:
            return _sure("thanks", "You're welcome! Is there anything else I can help with?")
        if intent is Intent.GREETING:
            return _sure("greeting", k.greeting)
        if intent is Intent.SEND_ADDRESS:
            return Assessment(
                True,
                (
                    Lookup(conversation.last_user_text, "address"),
                    TextDelta("Of course, I'm sending you our address now."),
                    SendWhatsApp(conversation.caller, f"{k.name}: {k.address}"),
                ),
                "send_address",
                1.0,
            )
        return None  # yes/no outside a question of ours: let retrieval have a go

    def _transfer(self) -> Assessment:
        events = (
            TextDelta(TRANSFERRING),
            TransferCall(self.knowledge.transfer_number, "caller asked for a person"),
        )
        return Assessment(True, events, "transfer", 1.0)


def _sure(topic: str, text: str) -> Assessment:
    return Assessment(True, (TextDelta(text),), topic, 1.0)


def _open_sentences(hours: str) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", hours)
    return " ".join(s for s in sentences if not re.search(r"\bclosed\b", s, re.I)) or hours


def documents(k: Knowledge) -> list[_Doc]:
    docs = [
        _Doc("hours", f"opening hours when open close {k.hours}", k.hours),
        _Doc("address", f"address where located {k.address}", k.address),
    ]
    docs.extend(
        _Doc(
            f"closed:{day}",
            f"closed on {day} open {day}",
            f"No, we're closed on {day}. {_open_sentences(k.hours)}",
        )
        for day in k.closed_on
    )
    docs.extend(
        _Doc(f"not_offered:{item}", f"{item} offer provide", f"I'm sorry, we don't offer {item}.")
        for item in k.not_offered
    )
    # The words callers use for a service ("how much is it to see the hygienist?") find its price too.
    docs.extend(
        _Doc(f"price:{s.name}", f"{s.name} {' '.join(s.aliases)} price", f"A {s.name} is {s.price}.")
        for s in k.services
    )
    if k.services:
        price_list = "; ".join(f"{s.name}, {s.price}" for s in k.services)
        docs.append(_Doc("prices", "price list prices treatment services", f"Our prices are: {price_list}."))
    docs.extend(
        _Doc(f"faq:{i}", f"{faq.question} {faq.question} {faq.answer}", faq.answer)
        for i, faq in enumerate(k.faqs)
    )
    return docs
