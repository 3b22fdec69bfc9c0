"""The owner_messages table on both databases: stored once per id, listed newest first in bounded pages,
marked handled, and each notification attempt claimed by one process only."""

from __future__ import annotations

import asyncio

from agentlocator.agent.v1 import agent_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.messages.conftest import taken
from voice_gateway.messages.model import MessageStatus, NotifyState, from_contract
from voice_gateway.storage.owner_messages import OwnerMessageStore


async def test_a_message_sent_twice_is_stored_once(engine: AsyncEngine) -> None:
    store = OwnerMessageStore(engine)
    message = from_contract(taken())
    first, created = await store.add(message, notify=True)
    again, created_again = await store.add(message, notify=True)
    assert (created, created_again) == (True, False) and again == first
    assert first.status is MessageStatus.NEW and first.notify_state is NotifyState.PENDING
    assert [m.id for m in await store.page(None, 10)] == [message.id]


async def test_two_copies_arriving_at_once_store_one_row(engine: AsyncEngine) -> None:
    store = OwnerMessageStore(engine)
    message = from_contract(taken())
    results = await asyncio.gather(*(store.add(message, notify=False) for _ in range(5)))
    assert sorted(created for _, created in results) == [False, False, False, False, True]
    assert len(await store.page(None, 10)) == 1


async def test_pages_are_newest_first_and_filtered_by_status(engine: AsyncEngine) -> None:
    store = OwnerMessageStore(engine)
    ids = [(await store.add(from_contract(taken(f"reason {i}")), notify=False))[0].id for i in range(5)]
    first = await store.page(None, 2)
    second = await store.page(None, 2, (first[-1].created_at, first[-1].id))
    third = await store.page(None, 2, (second[-1].created_at, second[-1].id))
    assert [m.id for m in first + second + third] == ids[::-1]
    handled = await store.set_status(ids[1], MessageStatus.HANDLED)
    assert handled is not None and handled.status is MessageStatus.HANDLED and handled.handled_at
    assert [m.id for m in await store.page(MessageStatus.HANDLED, 10)] == [ids[1]]
    assert ids[1] not in [m.id for m in await store.page(MessageStatus.NEW, 10)]
    assert await store.set_status("no-such-id", MessageStatus.HANDLED) is None


async def test_each_notification_attempt_is_claimed_by_one_process_only(engine: AsyncEngine) -> None:
    store = OwnerMessageStore(engine)
    message, _ = await store.add(from_contract(taken()), notify=True)
    lease = "2099-01-01T00:00:00.000000+00:00"
    claims = await asyncio.gather(*(store.claim(message.id, 1, f"owner-{i}", lease) for i in range(4)))
    assert sorted(claims) == [False, False, False, True]
    assert await store.due("2098-01-01T00:00:00+00:00", 10) == []  # leased: nobody else looks at it
    assert await store.sent(message.id, 1, "owner-x", "2026-01-01T00:00:00+00:00")
    assert not await store.sent(message.id, 1, "owner-y", "2026-01-01T00:00:00+00:00")  # once


def test_what_the_agent_hands_over_is_bounded_and_cleaned() -> None:
    odd = agent_pb2.TakenMessage(
        message_id="bad id with spaces",
        name="Jo\x1b[31m Bloggs",
        number="tel: +44 (0)7700-900123\n",
        reason="x" * 10_000,
        caller="+4477",
    )
    checked = from_contract(odd)
    assert checked.id.startswith("derived-")
    assert from_contract(odd).id == checked.id  # the same message sent again still stores once
    assert checked.name == "Jo [31m Bloggs" and checked.number == "+4407700900123"
    assert len(checked.reason) == 4000 and checked.channel == "api" and checked.taken_at.startswith("20")
