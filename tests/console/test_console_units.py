"""The console's pure parts: the latency chart and the registry's hang-up and turn memory."""

from __future__ import annotations

from voice_gateway.call_registry import REMEMBERED_TURN_CALLS, CallRegistry
from voice_gateway.console.chart import CHART_WIDTH, latency_chart


def test_the_slowest_turn_spans_the_chart_and_stages_stack_in_order() -> None:
    chart = latency_chart(
        [
            {"endpointing": 500, "stt": 200, "llm": 200, "tts": 100, "total": 1000},
            {"endpointing": 250, "stt": 100, "llm": 100, "tts": 50, "total": 500},
        ]
    )
    assert chart is not None
    slow, fast = chart.bars
    assert [s.stage for s in slow.segments] == ["endpointing", "stt", "llm", "tts"]
    assert slow.segments[-1].x + slow.segments[-1].width == CHART_WIDTH
    assert fast.segments[-1].x + fast.segments[-1].width == CHART_WIDTH / 2
    assert fast.y > slow.y
    assert "turn 2: endpointing 250 ms, stt 100 ms, llm 100 ms, tts 50 ms; total 500 ms" in chart.summary()


def test_a_call_without_turns_has_no_chart() -> None:
    assert latency_chart([]) is None


async def test_hang_up_reaches_the_live_calls_bridge_and_only_a_live_call() -> None:
    registry = CallRegistry()
    ended: list[str] = []

    async def hang_up() -> None:
        ended.append("CA1")

    await registry.started("CA1", "MZ1", "+15005550006", hang_up=hang_up)
    assert await registry.hang_up("CA1") is True
    assert ended == ["CA1"]
    assert await registry.hang_up("CA-unknown") is False


def test_turn_latencies_are_remembered_for_a_bounded_number_of_calls() -> None:
    registry = CallRegistry()
    for n in range(REMEMBERED_TURN_CALLS + 5):
        registry.turn_latency(f"CA{n}", {"stt": n})
    assert len(registry.turns) == REMEMBERED_TURN_CALLS
    assert "CA0" not in registry.turns
    assert registry.turns[f"CA{REMEMBERED_TURN_CALLS + 4}"] == [{"stt": REMEMBERED_TURN_CALLS + 4}]
