"""Several gateways on one real PostgreSQL, in one process: each `SharedState` is one gateway (its own
GATEWAY_ID, heartbeat, LISTEN/NOTIFY connections), all on one database as separate processes would be."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.calls.feed import FeedEvent
from voice_gateway.calls.limits import Refusal
from voice_gateway.calls.registry import CallRegistry
from voice_gateway.cluster.rates import SharedRates
from voice_gateway.cluster.state import SharedState
from voice_gateway.settings import Settings
from voice_gateway.storage.calls import CallLog
from voice_gateway.storage.schema import open_database

Cluster = Callable[..., Awaitable[SharedState]]
SIDS = (f"CA{n:032d}" for n in itertools.count())


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(postgres_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def gateway(postgres_url: str, engine: AsyncEngine) -> AsyncIterator[Cluster]:
    started: list[SharedState] = []

    async def start(gateway_id: str, **env: str) -> SharedState:
        base = {"DATABASE_URL": postgres_url, "GATEWAY_ID": gateway_id, "MAX_CONCURRENT_CALLS": "3"}
        base |= {"GATEWAY_HEARTBEAT_S": "0.1", "GATEWAY_DEAD_AFTER_S": "0.5"}
        state = SharedState(lambda: engine, Settings.from_env(base | env))
        await state.start()
        started.append(state)
        return state

    yield start
    for state in started:
        await state.stop()


def registry_on(state: SharedState, engine: AsyncEngine) -> CallRegistry:
    registry = CallRegistry(CallLog(engine))
    registry.others = state
    registry.feeds = state.relay_feeds(registry)
    return registry


async def until(state: SharedState, check: Callable[[], Awaitable[bool]]) -> None:
    """Look again at each piece of news (the sweep of a dead gateway's lines is one) until it shows."""
    async with asyncio.timeout(20):
        while not await check():
            await state.news()


async def test_a_burst_of_calls_on_two_gateways_gets_exactly_max_concurrent_calls_lines(
    gateway: Cluster,
) -> None:
    one, two = await gateway("g1"), await gateway("g2")
    sids = [next(SIDS) for _ in range(20)]
    admitted = await asyncio.gather(*(
        (one if n % 2 else two).lines.admit(sid) for n, sid in enumerate(sids)
    ))  # fmt: skip
    assert sum(admitted) == 3
    # The streams of the admitted calls start on whichever gateway Twilio reaches; the others are refused.
    winners = [sid for sid, ok in zip(sids, admitted, strict=True) if ok]
    assert [await two.lines.take(sid, "+1") for sid in winners] == [None, None, None]
    assert await one.lines.take(next(SIDS), "+1") is Refusal.OVER_CAPACITY
    assert not await one.lines.admit(next(SIDS))
    # A freed line admits the next caller, on either gateway.
    two.lines.release(winners[0])
    await two.lines.settled()
    assert await one.lines.admit(next(SIDS))


async def test_a_stream_already_live_on_one_gateway_is_refused_on_the_other(gateway: Cluster) -> None:
    one, two = await gateway("g1"), await gateway("g2")
    sid = next(SIDS)
    assert await one.lines.admit(sid)
    assert await one.lines.take(sid, "+1") is None
    assert await two.lines.take(sid, "+1") is Refusal.DUPLICATE
    assert await one.lines.take(sid, "+1") is Refusal.DUPLICATE
    assert one.lines.open_streams == 1 and two.lines.open_streams == 0


async def test_a_dead_gateways_calls_leave_the_live_view_and_free_their_lines_within_the_heartbeat_bound(
    gateway: Cluster, engine: AsyncEngine
) -> None:
    one, two = await gateway("g1", MAX_CONCURRENT_CALLS="2"), await gateway("g2", MAX_CONCURRENT_CALLS="2")
    calls = [next(SIDS), next(SIDS)]
    for state, sid in zip((one, two), calls, strict=True):
        assert await state.lines.admit(sid) and await state.lines.take(sid, "+15005550006") is None
    assert {c["call_sid"]: c["gateway"] for c in await one.live_calls()} == {calls[0]: "g1", calls[1]: "g2"}
    assert not await one.lines.admit(next(SIDS))
    assert two._beating is not None
    two._beating.cancel()  # as SIGKILL leaves it: no goodbye, no more heartbeats

    async def two_is_gone() -> bool:
        return [c["call_sid"] for c in await one.live_calls()] == [calls[0]]

    await until(one, two_is_gone)
    assert await one.lines.admit(next(SIDS))


async def test_the_console_on_one_gateway_hangs_up_a_call_carried_by_another(
    gateway: Cluster, engine: AsyncEngine
) -> None:
    one, two = await gateway("g1"), await gateway("g2")
    here, there = registry_on(one, engine), registry_on(two, engine)
    sid = next(SIDS)
    hung_up = asyncio.Event()

    async def hang_up() -> None:
        hung_up.set()

    assert await two.lines.admit(sid) and await two.lines.take(sid, "+15005550006") is None
    there.started(sid, "MZ1", "+15005550006", hang_up=hang_up)
    assert await here.hang_up(sid)
    async with asyncio.timeout(10):
        await hung_up.wait()
    assert not await here.hang_up(next(SIDS))  # live nowhere


async def test_a_listener_on_one_gateway_hears_a_call_carried_by_another_in_order(
    gateway: Cluster, engine: AsyncEngine
) -> None:
    one, two = await gateway("g1"), await gateway("g2")
    here, there = registry_on(one, engine), registry_on(two, engine)
    sid = next(SIDS)
    feed = here.feeds.subscribe(sid, False, [])
    assert await two.lines.admit(sid) and await two.lines.take(sid, "+15005550006") is None
    there.started(sid, "MZ1", "+15005550006")
    there.transcript(sid, "user", "what time do you open", True)
    there.transcript(sid, "agent", "We open at nine.", False)
    there.transcript(sid, "agent", "We open at nine.", True)
    # The console's view of the other gateway's call has what was said once the event has arrived.
    events: list[FeedEvent] = []
    async with asyncio.timeout(10):
        while len(events) < 4:
            events.append(await feed.queue.get())
    assert [(e.kind, e.data.get("text")) for e in events] == [
        ("started", None),
        ("heard", "what time do you open"),
        ("said", "We open at nine."),
        ("played", "We open at nine."),
    ]
    (call,) = await here.live_calls()
    assert call["gateway"] == "g2" and call["caller"] == "+15005550006"
    assert call["transcript"] == [
        {"role": "user", "text": "what time do you open"},
        {"role": "agent", "text": "We open at nine."},
    ]
    assert await here.state_of(sid) == (
        True,
        [("user", "what time do you open"), ("agent", "We open at nine.")],
    )
    two.lines.release(sid)
    await two.lines.settled()
    await there.closed(sid, "completed")
    async with asyncio.timeout(10):
        end = await feed.queue.get()
    assert (end.kind, end.data) == ("end", {"outcome": "completed"})
    assert await here.live_calls() == []


async def test_two_gateways_share_one_api_budget_and_one_penalty_box(engine: AsyncEngine) -> None:
    one, two = SharedRates(lambda: engine), SharedRates(lambda: engine)
    taken = [await (one if n % 2 else two).take("token:abc", 3) for n in range(4)]
    assert [d.allowed for d in taken] == [True, True, True, False]
    assert 0 < taken[-1].retry_after_s <= 20
    assert [await one.failed("10.0.0.1", 2), await two.failed("10.0.0.1", 2)] == [False, False]
    assert await one.failed("10.0.0.1", 2)  # the third failure in a minute, wherever it happened
    blocked = await two.blocked("10.0.0.1")
    assert not blocked.allowed and 59 < blocked.retry_after_s <= 60  # a whole refill, as FailureLimiter
    assert (await two.blocked("10.0.0.2")).allowed


async def test_streams_that_no_webhook_admitted_get_no_more_lines_than_the_cap_even_all_at_once(
    gateway: Cluster,
) -> None:
    one, two = await gateway("g1"), await gateway("g2")
    sids = [next(SIDS) for _ in range(10)]
    taken = await asyncio.gather(
        *((one if n % 2 else two).lines.take(sid, "+1") for n, sid in enumerate(sids))
    )
    assert taken.count(None) == 3 and taken.count(Refusal.OVER_CAPACITY) == 7
    assert one.lines.open_streams + two.lines.open_streams == 3


async def test_a_gateway_cut_off_from_the_database_past_the_bound_gets_its_calls_back_when_it_returns(
    gateway: Cluster, engine: AsyncEngine, postgres_url: str
) -> None:
    one = await gateway("g1")
    cut_off = asyncio.Event()

    def reachable() -> AsyncEngine:
        if cut_off.is_set():
            raise ConnectionRefusedError("the database is out of reach")
        return engine

    env = {"DATABASE_URL": postgres_url, "GATEWAY_ID": "g2", "GATEWAY_HEARTBEAT_S": "0.1"}
    two = SharedState(reachable, Settings.from_env(env | {"GATEWAY_DEAD_AFTER_S": "0.5"}))
    await two.start()
    try:
        sid = next(SIDS)
        assert await two.lines.admit(sid) and await two.lines.take(sid, "+15005550006") is None

        async def live_on_two() -> bool:
            return [c["call_sid"] for c in await one.live_calls()] == [sid]

        await until(one, live_on_two)
        cut_off.set()  # its heartbeats fail; the others take it for dead and sweep its line

        async def swept() -> bool:  # gone from the live view, and its row deleted
            async with engine.connect() as conn:
                rows = await conn.scalar(text("SELECT count(*) FROM gateway_lines"))
            return await one.live_calls() == [] and rows == 0

        await until(one, swept)
        cut_off.clear()
        await until(one, live_on_two)  # its next heartbeat puts the call's line back
        (call,) = await one.live_calls()
        assert call["gateway"] == "g2" and call["caller"] == "+15005550006"
    finally:
        await two.stop()


async def test_the_connect_action_of_a_failed_or_drained_call_finds_why_on_any_gateway(
    gateway: Cluster, engine: AsyncEngine
) -> None:
    one, two = await gateway("g1"), await gateway("g2")
    here, there = registry_on(one, engine), registry_on(two, engine)
    failed, drained = next(SIDS), next(SIDS)
    there.drained(drained)
    there.failed(failed, "agent unavailable: no replica answered")  # heard after the one before it
    # Announced before the stream closes; Twilio's request for the action comes after, to any gateway.
    async with asyncio.timeout(10):
        while here.take_failure(failed) is None:
            await one.news()
    assert here.take_drained(drained)
    assert there.take_failure(failed) == "agent unavailable: no replica answered"  # its own copy
    assert here.take_failure(next(SIDS)) is None and not here.take_drained(next(SIDS))
