"""Twilio's playout buffer as the simulator models it: marks echo when played, or at once on clear."""

from __future__ import annotations

from voice_gateway.tools.simulate import Playout


def test_a_mark_echoes_only_after_the_audio_before_it_has_played() -> None:
    playout = Playout()
    playout.push_media(b"\x01" * 160)  # 20 ms
    assert playout.push_mark("m1").marks == []
    assert playout.advance(10).marks == []
    assert playout.advance(10).marks == ["m1"]
    assert playout.marks_played == ["m1"] and bytes(playout.played) == b"\x01" * 160


def test_a_mark_with_nothing_buffered_echoes_at_once() -> None:
    assert Playout().push_mark("now").marks == ["now"]


def test_clear_drops_the_buffer_and_echoes_every_pending_mark() -> None:
    playout = Playout()
    playout.push_media(b"\x01" * 800)
    playout.push_mark("a")
    playout.push_media(b"\x02" * 800)
    playout.push_mark("b")
    playout.advance(50)  # 400 bytes played
    result = playout.clear()
    assert result.marks == ["a", "b"]
    assert playout.marks_cleared == ["a", "b"] and playout.marks_played == []
    assert playout.cleared_bytes == 1200 and playout.buffered_bytes == 0


def test_the_caller_hears_silence_while_the_buffer_is_empty() -> None:
    playout = Playout()
    playout.advance(20)
    playout.push_media(b"\x10" * 80)
    playout.advance(20)
    assert bytes(playout.heard) == b"\xff" * 160 + b"\x10" * 80 + b"\xff" * 80


def test_drain_plays_the_tail_and_echoes_the_last_mark() -> None:
    playout = Playout()
    playout.push_media(b"\x03" * 170)
    playout.push_mark("end")
    assert playout.drain().marks == ["end"]
    assert len(playout.played) == 170
