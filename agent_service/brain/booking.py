"""Appointments in conversation: service, when, two nearest free slots, a read-back, and a booking only
on a clear yes; moving and cancelling an appointment found by the caller's number.

A layer in front of the other brains (composition.py puts it there when the knowledge file has opening
hours): a turn that is not about an appointment, or that asks for a person or a message mid-flow, goes
to the brain behind it untouched. Nothing is ever said to be booked, moved or cancelled unless the
calendar confirmed it; a calendar that is down or slow is said plainly, with the offer of a message or
a transfer (the receptionist's OFFER, so its message flow takes the caller's answer).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime

from agent_service.brain import booking_lines as say
from agent_service.brain.base import Brain
from agent_service.brain.booking_changes import Changes
from agent_service.brain.booking_flow import Draft, Turn, replay
from agent_service.brain.events import BrainEvent, Conversation, TextDelta
from agent_service.brain.intents import Intent, detect
from agent_service.brain.message_parsing import find_name, find_number, spoken_digits
from agent_service.brain.receptionist import OFFER
from agent_service.calendar.appointments import Appointments
from agent_service.errors import CalendarError, SlotTaken
from agent_service.knowledge import Service
from agent_service.scheduling import DateProblem, WhenAsked, say_slot, understand_when

_LET_GO = (Intent.TRANSFER, Intent.TAKE_MESSAGE)


class BookingBrain(Changes):
    def __init__(self, inner: Brain, appointments: Appointments) -> None:
        self.name = inner.name
        self.inner = inner
        self.appointments = appointments

    async def respond(self, conversation: Conversation) -> AsyncIterator[BrainEvent]:
        reply = await self.reply(conversation)
        if reply is None:
            async for event in self.inner.respond(conversation):
                yield event
            return
        yield TextDelta(reply)

    async def reply(self, conversation: Conversation) -> str | None:
        """The booking dialogue's answer, or None when the turn is not about an appointment."""
        a = self.appointments
        now = a.now()
        draft, asked = replay(conversation, now, a.hours.zone, a.services)
        text = conversation.last_user_text
        if detect(text) in _LET_GO:
            return None
        if draft is None:
            kind = say.wants(text)
            if kind is None or not a.services:
                return None
            draft, asked = Draft(kind=kind), None
        turn = Turn(conversation, draft, text, now)
        try:
            return await self._answer(turn, asked)
        except CalendarError:  # counted and logged by Appointments, with the conversation id
            done = {"book": "booked", "move": "changed", "cancel": "cancelled"}[draft.kind]
            return say.CALENDAR_DOWN.format(done=done) + OFFER

    async def _answer(self, t: Turn, asked: say.Step | None) -> str:
        if asked is None:
            if t.draft.kind == "book":
                return await self._start_booking(t)
            return await self._look_up(t, t.conversation.caller, by_caller_id=True)
        handler = {
            "service": self._on_service,
            "when": self._on_when,
            "choose": self._on_choice,
            "name": self._on_name,
            "number": self._on_number,
            "confirm": self._on_confirm,
            "lookup_number": self._on_lookup_number,
            "lookup_name": self._on_lookup_name,
            "pick": self._on_pick,
        }[asked]
        return await handler(t)

    # Booking ---------------------------------------------------------------------------------------

    def _service(self, t: Turn) -> Service | None:
        services = self.appointments.services
        named = say.service_in(t.text, services)
        if named is None and t.draft.service:
            named = self.appointments.service(t.draft.service)
        return named or (services[0] if len(services) == 1 else None)

    async def _start_booking(self, t: Turn) -> str:
        service = self._service(t)
        if service is None:
            return say.ASK_SERVICE.format(services=say.service_list(self.appointments.services))
        return await self._when(t, service, understand_when(t.text, t.now), ask_if_none=True)

    async def _on_service(self, t: Turn) -> str:
        service = say.service_in(t.text, self.appointments.services)
        if service is None:
            if t.draft.misses:
                return say.DIDNT_CATCH + OFFER
            return say.DIDNT_CATCH + say.ASK_SERVICE.format(
                services=say.service_list(self.appointments.services)
            )
        return await self._when(t, service, understand_when(t.text, t.now), ask_if_none=True)

    async def _on_when(self, t: Turn) -> str:
        service = self._service(t)
        if service is None:
            return say.ASK_SERVICE.format(services=say.service_list(self.appointments.services))
        asked = understand_when(t.text, t.now)
        if asked is None and t.draft.misses:
            return say.DIDNT_CATCH + OFFER
        return await self._when(
            t, service, asked, ask_if_none=True, lead=say.DIDNT_CATCH if asked is None else ""
        )

    async def _when(
        self,
        t: Turn,
        service: Service,
        asked: WhenAsked | DateProblem | None,
        *,
        ask_if_none: bool,
        lead: str = "",
    ) -> str:
        ask = (say.ASK_WHEN_MOVE if t.draft.kind == "move" else say.ASK_WHEN).format(service=service.name)
        if asked is None:
            return lead + ask
        if isinstance(asked, DateProblem):
            return f"{asked.sentence} {ask}"
        return await self._offer(t, service, asked, lead=lead)

    async def _offer(self, t: Turn, service: Service, asked: WhenAsked, *, lead: str = "") -> str:
        offer = await self.appointments.offer(service, asked, source=t.source)
        if not offer.slots:
            return lead + say.NO_SLOTS.format(service=service.name) + OFFER
        if not offer.within:
            lead += say.NOTHING_THEN.format(service=service.name)
        return lead + self._offer_line(service, offer.slots)

    def _offer_line(self, service: Service, slots: tuple[datetime, ...]) -> str:
        zone = self.appointments.hours.zone
        spoken = [say_slot(s, zone) for s in slots]
        if len(spoken) == 1:
            return say.OFFER_ONE.format(first=spoken[0], service=service.name)
        return say.OFFER_TWO.format(first=spoken[0], second=spoken[1], service=service.name)

    async def _on_choice(self, t: Turn) -> str:
        service = self._service(t)
        if service is None:
            return say.ASK_SERVICE.format(services=say.service_list(self.appointments.services))
        asked = understand_when(t.text, t.now) or understand_when(
            f"at {t.text}", t.now
        )  # "11", "half ten": a time on its own
        choice = say.pick(t.text, t.draft.offered, asked if isinstance(asked, WhenAsked) else None)
        if choice is None:
            if isinstance(asked, WhenAsked | DateProblem):
                return await self._when(t, service, asked, ask_if_none=True)
            if say.NO.search(t.text):
                return "No problem. " + self._ask_when(t, service)
            if t.draft.misses or not t.draft.offered:
                return say.DIDNT_CATCH + OFFER
            return say.DIDNT_CATCH + self._offer_line(service, t.draft.offered)
        chosen = t.draft.offered[choice]
        zone = self.appointments.hours.zone
        if t.draft.kind == "move" and t.draft.existing is not None:
            return say.CONFIRM_MOVE.format(
                service=service.name, old=say_slot(t.draft.existing, zone), new=say_slot(chosen, zone)
            )
        return say.ASK_NAME.format(slot=say_slot(chosen, zone))

    def _ask_when(self, t: Turn, service: Service) -> str:
        return (say.ASK_WHEN_MOVE if t.draft.kind == "move" else say.ASK_WHEN).format(service=service.name)

    async def _on_name(self, t: Turn) -> str:
        name = find_name(t.text, bare=True)
        if name is None:
            return say.DIDNT_CATCH + OFFER if t.draft.misses else say.ASK_NAME_AGAIN
        caller = t.conversation.caller
        if caller:
            return say.CONFIRM_CALLER_ID.format(name=name.value, number=self._digits(t, caller))
        return say.ASK_NUMBER.format(name=name.value)

    async def _on_number(self, t: Turn) -> str:
        caller = t.conversation.caller
        number, _ = find_number(t.text, caller, cued=True)
        draft = t.draft
        if number is not None:
            draft = dataclasses.replace(
                draft, number=number.value, number_is_caller_id=number.value == caller
            )
        elif caller and say.YES.search(t.text):
            draft = dataclasses.replace(draft, number=caller, number_is_caller_id=True)
        elif say.NO.search(t.text):
            return say.ASK_NUMBER.format(name=draft.name or "you")
        elif draft.misses:
            return say.DIDNT_CATCH + OFFER
        else:
            return say.ASK_NUMBER_AGAIN
        return self._confirm_booking(dataclasses.replace(t, draft=draft))

    def _confirm_booking(self, t: Turn) -> str:
        d = t.draft
        if d.chosen is None or not d.service:
            return say.DIDNT_CATCH + OFFER
        return say.CONFIRM_BOOK.format(
            slot=say_slot(d.chosen, self.appointments.hours.zone),
            service=d.service,
            name=d.name,
            number=self._digits(t, d.number),
        )

    def _digits(self, t: Turn, number: str) -> str:
        return spoken_digits(number) if t.voice else number

    # Confirming --------------------------------------------------------------------------------------

    async def _on_confirm(self, t: Turn) -> str:
        d = t.draft
        zone = self.appointments.hours.zone
        if say.YES.search(t.text):
            if d.kind == "book":
                return await self._book(t)
            return await self._change(t)
        if not say.NO.search(t.text) and not d.misses:
            if d.kind == "book":
                return "Sorry, was that a yes? " + self._confirm_booking(t)
            if d.kind == "cancel" and d.existing is not None:
                return (
                    "Sorry, was that a yes? "
                    + say.FOUND.format(service=d.service, slot=say_slot(d.existing, zone))
                    + say.CONFIRM_CANCEL
                )
            if d.existing is not None and d.chosen is not None:
                return "Sorry, was that a yes? " + say.CONFIRM_MOVE.format(
                    service=d.service, old=say_slot(d.existing, zone), new=say_slot(d.chosen, zone)
                )
        if d.kind == "book":
            service = self.appointments.service(d.service)
            if say.NO.search(t.text) and service is not None:
                return say.NOT_BOOKED + say.ASK_WHEN.format(service=service.name)
            return say.NOT_BOOKED.strip() + say.ANYTHING_ELSE
        slot = say_slot(d.existing, zone) if d.existing else "its time"
        return say.KEPT.format(service=d.service, slot=slot) + say.ANYTHING_ELSE

    async def _book(self, t: Turn) -> str:
        d = t.draft
        service = self.appointments.service(d.service)
        if service is None or d.chosen is None:
            return say.DIDNT_CATCH + OFFER
        number = d.number or t.conversation.caller
        zone = self.appointments.hours.zone
        try:
            made = await self.appointments.book(
                service, d.chosen, d.name, number, source=t.source, channel=t.conversation.channel
            )
        except SlotTaken:
            local = d.chosen.astimezone(zone)
            again = WhenAsked(local.date(), local.date(), at=local.time().replace(tzinfo=None))
            return await self._offer(t, service, again, lead=say.TAKEN)
        return say.BOOKED.format(slot=say_slot(made.start, zone), service=service.name) + say.ANYTHING_ELSE
