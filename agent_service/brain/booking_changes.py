"""Moving and cancelling: the caller's appointment found by the number they call from (or the one they
booked with, and their name when there are several), then changed only on a clear yes."""

from __future__ import annotations

import dataclasses

from agent_service.brain import booking_lines as say
from agent_service.brain.booking_flow import Turn
from agent_service.brain.message_parsing import find_name, find_number
from agent_service.brain.receptionist import OFFER
from agent_service.calendar.appointments import Appointments
from agent_service.calendar.base import Appointment
from agent_service.errors import AppointmentNotFound, SlotTaken
from agent_service.knowledge import Service
from agent_service.scheduling import WhenAsked, say_slot, understand_when


class Changes:
    appointments: Appointments

    async def _offer(self, t: Turn, service: Service, asked: WhenAsked, *, lead: str = "") -> str:
        raise NotImplementedError  # BookingBrain's

    async def _change(self, t: Turn) -> str:
        d = t.draft
        zone = self.appointments.hours.zone
        appointment = await self._the_appointment(t)
        if appointment is None:
            return say.NOT_FOUND + OFFER
        if d.kind == "cancel":
            try:
                await self.appointments.cancel(appointment.id, source=t.source)
            except AppointmentNotFound:
                return say.NOT_FOUND + OFFER
            return (
                say.CANCELLED.format(service=appointment.service, slot=say_slot(appointment.start, zone))
                + say.ANYTHING_ELSE
            )
        if d.chosen is None:
            return say.DIDNT_CATCH + OFFER
        try:
            moved = await self.appointments.move(appointment, d.chosen, source=t.source)
        except SlotTaken:
            service = self.appointments.service(appointment.service)
            local = d.chosen.astimezone(zone)
            again = WhenAsked(local.date(), local.date(), at=local.time().replace(tzinfo=None))
            if service is None:
                return say.TAKEN + OFFER
            return await self._offer(t, service, again, lead=say.TAKEN)
        return say.MOVED.format(service=moved.service, new=say_slot(moved.start, zone)) + say.ANYTHING_ELSE

    async def _the_appointment(self, t: Turn) -> Appointment | None:
        d = t.draft
        if d.existing is None:
            return None
        found = await self.appointments.find(d.lookup_number or t.conversation.caller, source=t.source)
        return next((a for a in found if a.start == d.existing), None)

    # Finding the caller's appointment -------------------------------------------------------------

    async def _look_up(self, t: Turn, number: str, *, by_caller_id: bool = False, name: str = "") -> str:
        verb = t.draft.kind
        if not number:
            return say.ASK_BOOKED_NUMBER.format(verb=verb)
        found = await self.appointments.find(number, source=t.source)
        if name and len(found) > 1:
            named = [a for a in found if name.lower() in a.name.lower() or a.name.lower() in name.lower()]
            found = named or found
        if not found:
            if by_caller_id:
                return say.ASK_LOOKUP_NUMBER.format(whose="the number you're calling from", verb=verb)
            return say.NOT_FOUND + OFFER
        if len(found) == 1:
            return self._found(t, found[0])
        if not name:
            return say.ASK_LOOKUP_NAME.format(count=len(found), verb=verb)
        zone = self.appointments.hours.zone
        choices = [f"your {a.service} on {say_slot(a.start, zone)}" for a in found[:3]]
        return say.PICK.format(verb=verb, choices=", or ".join(choices))

    def _found(self, t: Turn, appointment: Appointment) -> str:
        zone = self.appointments.hours.zone
        found = say.FOUND.format(service=appointment.service, slot=say_slot(appointment.start, zone))
        if t.draft.kind == "cancel":
            return found + say.CONFIRM_CANCEL
        return found + say.ASK_WHEN_MOVE.format(service=appointment.service)

    async def _on_lookup_number(self, t: Turn) -> str:
        number, _ = find_number(t.text, t.conversation.caller, cued=True)
        if number is None:
            if t.draft.misses:
                return say.DIDNT_CATCH + OFFER
            return say.DIDNT_CATCH + say.ASK_BOOKED_NUMBER.format(verb=t.draft.kind)
        return await self._look_up(
            dataclasses.replace(t, draft=dataclasses.replace(t.draft, lookup_number=number.value)),
            number.value,
        )

    async def _on_lookup_name(self, t: Turn) -> str:
        name = find_name(t.text, bare=True)
        number = t.draft.lookup_number or t.conversation.caller
        return await self._look_up(t, number, name=name.value if name else t.text.strip())

    async def _on_pick(self, t: Turn) -> str:
        asked = understand_when(t.text, t.now) or understand_when(
            f"at {t.text}", t.now
        )  # "11", "half ten": a time on its own
        choice = say.pick(t.text, t.draft.choices, asked if isinstance(asked, WhenAsked) else None)
        if choice is None:
            return say.DIDNT_CATCH + OFFER
        found = await self.appointments.find(t.draft.lookup_number or t.conversation.caller, source=t.source)
        chosen = next((a for a in found if a.start == t.draft.choices[choice]), None)
        return self._found(t, chosen) if chosen else say.NOT_FOUND + OFFER
