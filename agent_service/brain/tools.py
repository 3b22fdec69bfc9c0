"""The call tools: take a message, put the caller through, end the call, send the caller a WhatsApp, and
look a fact up. One group of tools for the registry (tool_registry.py); others (appointments) add theirs.

What the schema cannot say, each tool checks itself, and refuses with a sentence the model can act on:
- take_message: the call-back number is one the caller said, or their caller ID (the default); never
  one the model made up. A name has letters and no digits.
- transfer_call: the number is the knowledge file's; a model that names one is refused.
- end_call: only once the caller has closed the conversation (closing.may_end, the receptionist's own
  rule) or was just put through; a question is never a goodbye.
- send_whatsapp: to the caller only, and no figure (price, time, number) the knowledge does not state.
- lookup: answered by the receptionist's retrieval and quoted, never generated.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from agent_service.brain.closing import ANYTHING_ELSE, may_end
from agent_service.brain.events import (
    Conversation,
    EndCall,
    Lookup,
    SendWhatsApp,
    TakeMessage,
    TextDelta,
    TransferCall,
    Turn,
)
from agent_service.brain.guard import figures, known_figures, misattributed, price_bindings, unsupported
from agent_service.brain.message_parsing import MAX_DIGITS, MIN_DIGITS, find_number, spoken_digits
from agent_service.brain.receptionist import TRANSFERRING
from agent_service.brain.tool_registry import ToolContext, ToolRefused, ToolResult, ToolSpec
from agent_service.brain.tool_schema import arguments, string
from agent_service.knowledge import Knowledge

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 100
MAX_REASON_CHARS = 500
MAX_WHATSAPP_CHARS = 1000
# E.164-ish: an optional +, then digits with the spaces, dots, dashes and brackets people write.
PHONE_PATTERN = r"^\+?\(?[0-9][0-9 ().-]{5,30}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def call_tools(knowledge: Knowledge) -> list[ToolSpec]:
    return _CallTools(knowledge).specs()


class _CallTools:
    def __init__(self, knowledge: Knowledge) -> None:
        self._knowledge = knowledge
        self._figures = known_figures(knowledge)
        self._bindings = price_bindings(knowledge)

    def specs(self) -> list[ToolSpec]:
        team_only = "calls are only put through to the team's own line: call transfer_call without a number"
        return [
            ToolSpec(
                "take_message",
                "Record a message for the team once the caller has given their name and what it is about. "
                "Leave callback_number out to use the number they are calling from.",
                arguments(
                    ("caller_name", "reason"),
                    caller_name=string("the caller's name", max_length=MAX_NAME_CHARS),
                    callback_number=string(
                        "the call-back number exactly as the caller gave it, e.g. +447700900123",
                        max_length=32,
                        pattern=PHONE_PATTERN,
                    ),
                    reason=string("what the message is about", max_length=MAX_REASON_CHARS),
                ),
                self.take_message,
            ),
            ToolSpec(
                "transfer_call",
                "Put the caller through to the team. The number is fixed; you never choose it.",
                arguments(reason=string("why the caller wants a person", max_length=200, min_length=0)),
                self.transfer_call,
                refused_arguments={"number": team_only, "to": team_only},
            ),
            ToolSpec(
                "end_call",
                f'End the call, only after the caller answered "{ANYTHING_ELSE}" with a goodbye.',
                arguments(reason=string("why the call ends", max_length=200, min_length=0)),
                self.end_call,
            ),
            ToolSpec(
                "send_whatsapp",
                "Send the caller a WhatsApp message with facts from the FACTS only, e.g. the address.",
                arguments(("text",), text=string("the message", max_length=MAX_WHATSAPP_CHARS)),
                self.send_whatsapp,
                refused_arguments={"to": "messages only go to the caller: leave 'to' out"},
            ),
            ToolSpec(
                "lookup",
                "Look up a fact about the business (hours, address, prices, FAQ); the answer is read out.",
                arguments(("query",), query=string("the question", max_length=300)),
                self.lookup,
            ),
        ]

    async def take_message(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        name = " ".join(args["caller_name"].split())
        reason = " ".join(args["reason"].split())
        if not re.search(r"[^\W\d_]", name) or re.search(r"\d", name) or _CONTROL.search(name):
            raise ToolRefused("caller_name must be the caller's name (letters, no digits): ask for it")
        if not reason:
            raise ToolRefused("reason must say what the message is about: ask the caller")
        caller = ctx.conversation.caller
        given = args.get("callback_number", "").strip()
        if given:
            if not MIN_DIGITS <= len(_digits(given)) <= MAX_DIGITS:
                raise ToolRefused(f"callback_number {given!r} is not a phone number: ask the caller again")
            if caller and _same_number(given, caller):
                number, is_caller_id = caller, True
            elif any(_same_number(given, heard) for heard in _numbers_said(ctx.conversation)):
                number, is_caller_id = given, False
            else:
                raise ToolRefused(
                    f"callback_number {given!r} is not a number the caller said: ask them for it, "
                    "or leave it out to use the number they are calling from"
                )
        elif caller and MIN_DIGITS <= len(_digits(caller)) <= MAX_DIGITS:
            number, is_caller_id = caller, True
        else:
            raise ToolRefused("the caller's own number is unknown: ask them for a call-back number")
        message = TakeMessage(name, number, reason, number_is_caller_id=is_caller_id)
        return ToolResult(
            f"Message from {name} taken for the team. Read the number back to the caller to confirm it: "
            f"{spoken_digits(number)}.",
            (message,),
        )

    async def transfer_call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        number = self._knowledge.transfer_number
        if not number:
            raise ToolRefused("there is no line to put callers through to: offer to take a message instead")
        ctx.handed_over = True
        say = () if ctx.said.strip() else (TextDelta(TRANSFERRING),)
        transfer = TransferCall(number, args.get("reason", "").strip())
        return ToolResult("The caller is being put through to the team.", (*say, transfer), final=True)

    async def end_call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if not (may_end(ctx.conversation) or ctx.handed_over):
            log.warning("LLM_END_CALL_REFUSED conversation=%s: the caller has not said goodbye", _cid(ctx))
            raise ToolRefused(
                "the caller has not said goodbye, so the call goes on: answer them, and when they seem "
                f'done ask exactly "{ANYTHING_ELSE}"'
            )
        goodbye = f"Thank you for contacting {self._knowledge.name}. Goodbye!"
        say = () if ctx.said.strip() else (TextDelta(goodbye),)
        return ToolResult(
            "The call is ending.", (*say, EndCall(args.get("reason", "") or "goodbye")), final=True
        )

    async def send_whatsapp(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        text = args["text"].strip()
        if not ctx.conversation.caller:
            raise ToolRefused("the caller's number is unknown, so nothing can be sent: tell them so")
        if not text or _CONTROL.search(text.replace("\n", " ")):
            raise ToolRefused("text must be a plain, non-empty message")
        said_by_caller = [t.text for t in ctx.conversation.turns if t.role == "user"]
        allowed = self._figures.union(*(figures(t) for t in said_by_caller))
        invented = unsupported(text, allowed) | misattributed(text, self._bindings)
        if invented:
            raise ToolRefused(
                f"the message states {sorted(invented)}, which the FACTS do not: send only facts from them"
            )
        return ToolResult("Sent to the caller's WhatsApp.", (SendWhatsApp(ctx.conversation.caller, text),))

    async def lookup(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        query = args["query"].strip() or ctx.conversation.last_user_text
        c = ctx.conversation
        answer = ctx.ask_knowledge(
            Conversation(c.conversation_id, (Turn("user", query),), c.channel, c.caller)
        )
        # A lookup answers; it never acts (an intent the query happens to match must not transfer the call).
        said = tuple(e for e in answer.events if isinstance(e, TextDelta))
        text = "".join(e.text for e in said)
        return ToolResult(text, (Lookup(query, answer.topic), *said), answered=True)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _numbers_said(conversation: Conversation) -> list[str]:
    found = (find_number(t.text, cued=True)[0] for t in conversation.turns if t.role == "user")
    return [f.value for f in found if f is not None]


def _same_number(a: str, b: str) -> bool:
    """One number, however written: the same digits, or +<country code><national> and 0<national>."""
    if _digits(a) == _digits(b):
        return True
    for international, national in ((a, b), (b, a)):
        di, dn = _digits(international), _digits(national)
        national_form = dn.startswith("0") and len(dn) > MIN_DIGITS
        country_code = len(di) - (len(dn) - 1)  # the international form's extra digits
        written_as_international = international.lstrip().startswith("+") and 1 <= country_code <= 3
        if written_as_international and national_form and di.endswith(dn[1:]):
            return True
    return False


def _cid(ctx: ToolContext) -> str:
    return ctx.conversation.conversation_id[:64]
