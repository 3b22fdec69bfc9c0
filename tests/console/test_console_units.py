"""The console's own parts: the latency chart, and the registry's hang-up and stored turn latencies."""

from __future__ import annotations

from pathlib import Path

from voice_gateway.calls.registry import CallRegistry
from voice_gateway.console.chart import CHART_WIDTH, latency_chart
from voice_gateway.storage.calls import CallLog


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

    registry.started("CA1", "MZ1", "+15005550006", hang_up=hang_up)
    assert await registry.hang_up("CA1") is True
    assert ended == ["CA1"]
    assert await registry.hang_up("CA-unknown") is False


async def test_turn_latencies_are_stored_with_the_call_and_outlive_the_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/calls.db"
    registry = CallRegistry(await CallLog.open(url))
    registry.started("CA1", "MZ1", "+15005550006")
    registry.turn_latency("CA1", {"endpointing": 500, "stt": 180, "llm": 2, "tts": 150, "total": 832})
    registry.turn_latency("CA1", {"endpointing": 500, "stt": 210, "total": 900})
    registry.turn_latency("CA-not-live", {"stt": 1})  # not a call of ours: nothing to attach it to
    await registry.closed("CA1", "completed")
    assert registry.call_log is not None
    await registry.call_log.close()

    reopened = await CallLog.open(url)  # as after a gateway restart
    try:
        record = await reopened.get("CA1")
        assert record is not None
        assert record.turns == (
            {"endpointing": 500, "stt": 180, "llm": 2, "tts": 150, "total": 832},
            {"endpointing": 500, "stt": 210, "llm": 0, "tts": 0, "total": 900},
        )
        assert await reopened.get("CA-not-live") is None
    finally:
        await reopened.close()
