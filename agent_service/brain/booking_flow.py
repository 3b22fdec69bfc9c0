"""The booking dialogue's memory, rebuilt from the conversation itself (as message_taking.py does).

Each agent line of the flow says what it asked for (booking_lines.asked_for) and carries the slots,
service and appointment it is about in the fixed spoken form (scheduling.phrases), so replaying the
turns gives back what was offered, chosen and given, whether the conversation was restored from the
chat store, resumed on another stream or handled by another agent process.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agent_service.brain.booking_lines import YES, Kind, Step, asked_for, kind_of, service_in
from agent_service.brain.events import Conversation
from agent_service.brain.message_parsing import find_name, find_number
from agent_service.knowledge import Service
from agent_service.scheduling import slots_in


@dataclass(frozen=True, slots=True)
class Draft:
    kind: Kind = "book"
    service: str = ""
    offered: tuple[datetime, ...] = ()  # the slots last offered
    chosen: datetime | None = None  # the slot read back for confirmation
    existing: datetime | None = None  # the start of the appointment being moved or cancelled
    choices: tuple[datetime, ...] = ()  # the caller's appointments listed to pick from
    name: str = ""
    number: str = ""
    number_is_caller_id: bool = False
    lookup_number: str = ""
    lookup_name: str = ""
    misses: int = 0  # answers to the current question that gave nothing usable


def replay(
    conversation: Conversation, now: datetime, zone: ZoneInfo, services: tuple[Service, ...]
) -> tuple[Draft | None, Step | None]:
    """The booking in progress (None: none) and what the agent asked last, after every turn but the last
    user turn (the one to answer)."""
    draft: Draft | None = None
    asked: Step | None = None
    for turn in conversation.turns[:-1]:
        if turn.role == "user":
            if draft is not None and asked is not None:
                draft = absorb(draft, asked, turn.text, conversation.caller)
            continue
        step = asked_for(turn.text)
        if step is None:
            draft, asked = None, None  # done, or the conversation went elsewhere
            continue
        draft = _from_line(draft or Draft(), step, turn.text, now, zone, services)
        if step != asked:
            draft = dataclasses.replace(draft, misses=0)
        asked = step
    return draft, asked


def _from_line(
    draft: Draft, step: Step, line: str, now: datetime, zone: ZoneInfo, services: tuple[Service, ...]
) -> Draft:
    changes: dict[str, object] = {}
    kind = kind_of(line)
    if kind is not None:
        changes["kind"] = kind
    service = service_in(line, services)
    if service is not None:
        changes["service"] = service.name
    slots = slots_in(line, now, zone)
    if step == "choose":
        changes["offered"] = tuple(slots)
    elif step == "pick":
        changes["choices"] = tuple(slots)
    elif step == "confirm" and slots:
        if kind in ("move", "cancel"):
            changes["existing"] = slots[0]
            if kind == "move" and len(slots) > 1:
                changes["chosen"] = slots[1]
        else:
            changes["chosen"] = slots[0]
    elif step == "name" and slots:
        changes["chosen"] = slots[0]  # "Lovely, Tuesday the 8th of December at 10 am it is. What name …"
    elif step == "when" and slots and kind == "move":
        changes["existing"] = slots[0]  # "I can see your check-up on …. When would you like to move it to?"
    return dataclasses.replace(draft, **changes)  # type: ignore[arg-type]


def absorb(draft: Draft, asked: Step, text: str, caller: str) -> Draft:
    """`draft` with what one caller turn gave in answer to `asked`."""
    if asked == "name":
        name = find_name(text, bare=True)
        if name is None:
            return dataclasses.replace(draft, misses=draft.misses + 1)
        return dataclasses.replace(draft, name=name.value)
    if asked == "lookup_name":
        name = find_name(text, bare=True)
        return dataclasses.replace(draft, lookup_name=name.value if name else text.strip())
    if asked in ("number", "lookup_number"):
        number, _ = find_number(text, caller, cued=True)
        if number is None:
            if asked == "number" and caller and YES.search(text):
                return dataclasses.replace(draft, number=caller, number_is_caller_id=True)
            return dataclasses.replace(draft, misses=draft.misses + 1)
        if asked == "lookup_number":
            return dataclasses.replace(draft, lookup_number=number.value)
        return dataclasses.replace(draft, number=number.value, number_is_caller_id=number.value == caller)
    return dataclasses.replace(draft, misses=draft.misses + 1)  # answered again only if it was unusable


@dataclass(frozen=True, slots=True)
class Turn:
    """One caller turn being answered: the conversation, the booking replayed so far, and now."""

    conversation: Conversation
    draft: Draft
    text: str
    now: datetime

    @property
    def source(self) -> str:
        return self.conversation.conversation_id

    @property
    def voice(self) -> bool:
        return self.conversation.channel == "voice"
