"""The per-turn latency chart of a call: stacked bars, drawn as plain SVG numbers for the template."""

from __future__ import annotations

from dataclasses import dataclass

from voice_gateway.storage.calls import TurnLatency

STAGES = ("endpointing", "stt", "llm", "tts")
CHART_WIDTH = 300  # SVG user units; the SVG scales to the screen
BAR_HEIGHT = 14
BAR_GAP = 6


@dataclass(frozen=True, slots=True)
class Segment:
    stage: str
    ms: int
    x: float
    width: float


@dataclass(frozen=True, slots=True)
class Bar:
    turn: int
    y: int
    total_ms: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class LatencyChart:
    bars: tuple[Bar, ...]
    height: int
    widest_ms: int

    def summary(self) -> str:
        """The chart in words, for screen readers and for anyone who prefers numbers."""
        parts = []
        for bar in self.bars:
            stages = ", ".join(f"{s.stage} {s.ms} ms" for s in bar.segments)
            parts.append(f"turn {bar.turn}: {stages}; total {bar.total_ms} ms")
        return "; ".join(parts)


def latency_chart(turns: list[TurnLatency]) -> LatencyChart | None:
    if not turns:
        return None
    widest = max(max(sum(t.get(s, 0) for s in STAGES), t.get("total", 0)) for t in turns) or 1
    bars = []
    for index, turn in enumerate(turns):
        x = 0.0
        segments = []
        for stage in STAGES:
            ms = max(0, turn.get(stage, 0))
            width = CHART_WIDTH * ms / widest
            segments.append(Segment(stage, ms, round(x, 1), round(width, 1)))
            x += width
        total = turn.get("total", 0) or sum(s.ms for s in segments)
        bars.append(Bar(index + 1, index * (BAR_HEIGHT + BAR_GAP), total, tuple(segments)))
    return LatencyChart(tuple(bars), len(bars) * (BAR_HEIGHT + BAR_GAP), widest)
