"""The appointment tools for an LLM brain (find_slots, book, move, cancel), added to the tool registry by
the composition root, with the booking dialogue's own rules (booking.py):

- find_slots: a service the business books and a time as the caller said it, read by the same date
  parser (a date that does not exist or is past is refused with the sentence to say).
- book / move / cancel change the calendar only on a clear yes: the caller's last turn must be a yes,
  and the agent's line before it must have read back that very slot (or appointment), in the spoken
  form find_slots gives. So a model cannot book what the caller never heard and agreed to.
- The phone number is the caller ID or a number the caller said; an appointment to move or cancel is
  found by it, never chosen by the model.
- The calendar's answer decides what is said: a taken slot or an unreachable calendar is refused with
  what to tell the caller; a success is said in the agent's own words, not the model's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_service.brain import booking_lines as say
from agent_service.brain.events import Conversation, TextDelta
from agent_service.brain.message_parsing import find_number
from agent_service.brain.tool_registry import ToolContext, ToolRefused, ToolResult, ToolSpec
from agent_service.brain.tool_schema import arguments, string
from agent_service.calendar.appointments import Appointments
from agent_service.calendar.base import Appointment, phone_key
from agent_service.errors import CalendarError, SlotTaken
from agent_service.knowledge import Service
from agent_service.scheduling import DateProblem, say_slot, slots_in, understand_when

_START = "the slot's start exactly as find_slots gave it, e.g. 2026-12-01T10:00:00+00:00"
_DOWN = "the calendar cannot be reached, so nothing was done: apologise and offer to take a message"


def appointment_tools(appointments: Appointments) -> list[ToolSpec]:
    return _BookingTools(appointments).specs()


class _BookingTools:
    def __init__(self, appointments: Appointments) -> None:
        self._a = appointments
        self._services = ", ".join(s.name for s in appointments.services)

    def specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(
                "find_slots",
                "Find the two nearest free appointment slots for a service at a time the caller asked for.",
                arguments(
                    ("service", "when"),
                    service=string(f"one of: {self._services}", max_length=100),
                    when=string("the caller's own words, e.g. 'next Tuesday afternoon'", max_length=200),
                ),
                self.find_slots,
            ),
            ToolSpec(
                "book",
                "Book a slot, only after reading it back and the caller clearly said yes.",
                arguments(
                    ("service", "start", "caller_name"),
                    service=string(f"one of: {self._services}", max_length=100),
                    start=string(_START, max_length=40),
                    caller_name=string("the caller's name", max_length=100),
                    phone=string("a number the caller said; leave out for their caller ID", max_length=32),
                ),
                self.book,
            ),
            ToolSpec(
                "move",
                "Move the caller's appointment to a new slot, only after reading it back and a clear yes.",
                arguments(("new_start",), new_start=string(_START, max_length=40)),
                self.move,
            ),
            ToolSpec(
                "cancel",
                "Cancel the caller's appointment, only after reading it back and a clear yes.",
                arguments(),
                self.cancel,
            ),
        ]

    def _service(self, name: str) -> Service:
        service = say.service_in(name, self._a.services)
        if service is None:
            raise ToolRefused(f"{name!r} is not a service booked here; the services are: {self._services}")
        return service

    async def find_slots(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        service = self._service(args["service"])
        asked = understand_when(args["when"], self._a.now())
        if asked is None:
            raise ToolRefused("that names no day or time: ask the caller when they would like to come in")
        if isinstance(asked, DateProblem):
            raise ToolRefused(f"tell the caller: {asked.sentence}")
        try:
            offer = await self._a.offer(service, asked, source=ctx.conversation.conversation_id)
        except CalendarError:
            raise ToolRefused(_DOWN) from None
        if not offer.slots:
            raise ToolRefused("nothing is free in the next weeks: offer to take a message")
        zone = self._a.hours.zone
        listed = "; ".join(f"{say_slot(s, zone)} (start {s.isoformat()})" for s in offer.slots)
        within = "" if offer.within else "Nothing is free when they asked; the nearest are: "
        return ToolResult(
            f"{within}{listed}. Offer these in exactly these words and ask which suits; before booking, read "
            "the chosen one back and wait for a clear yes."
        )

    async def book(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        service = self._service(args["service"])
        start = self._agreed(ctx.conversation, args["start"])
        name = " ".join(args["caller_name"].split())
        if not any(c.isalpha() for c in name) or any(c.isdigit() for c in name):
            raise ToolRefused("caller_name must be the caller's name: ask for it")
        phone = self._phone(ctx.conversation, args.get("phone", ""))
        c = ctx.conversation
        try:
            made = await self._a.book(
                service, start, name, phone, source=c.conversation_id, channel=c.channel
            )
        except SlotTaken:
            raise ToolRefused(
                "that time was just taken: call find_slots again and offer the new times"
            ) from None
        except CalendarError:
            raise ToolRefused(_DOWN) from None
        text = say.BOOKED.format(slot=say_slot(made.start, self._a.hours.zone), service=service.name)
        return ToolResult(f"Booked: {text}", (TextDelta(text),), answered=True)

    async def move(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        new_start = self._agreed(ctx.conversation, args["new_start"])
        current = await self._theirs(ctx.conversation)
        try:
            moved = await self._a.move(current, new_start, source=ctx.conversation.conversation_id)
        except SlotTaken:
            raise ToolRefused(
                "that time was just taken: call find_slots again and offer the new times"
            ) from None
        except CalendarError:
            raise ToolRefused(_DOWN) from None
        text = say.MOVED.format(service=moved.service, new=say_slot(moved.start, self._a.hours.zone))
        return ToolResult(f"Moved: {text}", (TextDelta(text),), answered=True)

    async def cancel(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        del args
        current = await self._theirs(ctx.conversation)
        self._agreed(ctx.conversation, current.start.isoformat())
        try:
            await self._a.cancel(current.id, source=ctx.conversation.conversation_id)
        except CalendarError:
            raise ToolRefused(_DOWN) from None
        text = say.CANCELLED.format(service=current.service, slot=say_slot(current.start, self._a.hours.zone))
        return ToolResult(f"Cancelled: {text}", (TextDelta(text),), answered=True)

    def _agreed(self, conversation: Conversation, raw: str) -> datetime:
        """The slot, if the agent's last line read it back and the caller's answer was a clear yes."""
        try:
            start = datetime.fromisoformat(raw)
        except ValueError:
            raise ToolRefused(f"{raw!r} is not a start time; use find_slots' start exactly") from None
        if start.tzinfo is None:
            raise ToolRefused("start needs its UTC offset, exactly as find_slots gave it")
        if not say.YES.search(conversation.last_user_text):
            raise ToolRefused("the caller has not clearly said yes: read the time back and ask them first")
        read_back = slots_in(conversation.last_agent_text, self._a.now(), self._a.hours.zone)
        if start not in read_back:
            spoken = say_slot(start, self._a.hours.zone)
            raise ToolRefused(
                f"read '{spoken}' back to the caller and wait for their yes before changing anything"
            )
        return start

    def _phone(self, conversation: Conversation, given: str) -> str:
        caller = conversation.caller
        if not given.strip():
            if not caller:
                raise ToolRefused("the caller's number is unknown: ask them for one")
            return caller
        said = [find_number(t.text, caller, cued=True)[0] for t in conversation.turns if t.role == "user"]
        if phone_key(given) in {phone_key(f.value) for f in said if f is not None} | {phone_key(caller)}:
            return given
        raise ToolRefused(f"{given!r} is not a number the caller said: ask them, or leave phone out")

    async def _theirs(self, conversation: Conversation) -> Appointment:
        try:
            found = await self._a.find(conversation.caller, source=conversation.conversation_id)
        except CalendarError:
            raise ToolRefused(_DOWN) from None
        if not found:
            raise ToolRefused(
                "no appointment under the number they are calling from: offer to take a message"
            )
        if len(found) > 1:
            raise ToolRefused(
                "they have several appointments: the booking dialogue must pick one; offer a message"
            )
        return found[0]
