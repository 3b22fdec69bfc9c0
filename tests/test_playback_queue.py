"""The gateway's outbound playback queue: pacing ahead of Twilio's clock, marks, and interruption."""

from __future__ import annotations

from voice_gateway.calls.ai.playout import AudioFrame, MarkItem, PlaybackQueue


def audio_frames(items: list[AudioFrame | MarkItem]) -> list[AudioFrame]:
    return [i for i in items if isinstance(i, AudioFrame)]


def test_agent_audio_is_cut_into_20ms_frames_and_a_short_tail_waits_for_more() -> None:
    queue = PlaybackQueue(lead_ms=10_000)
    queue.add_audio("u1", b"\x01" * 400, final=False)
    assert [len(f.audio) for f in audio_frames(queue.due(0.0))] == [160, 160]
    queue.add_audio("u1", b"\x02" * 100, final=True)
    assert [len(f.audio) for f in audio_frames(queue.due(0.0))] == [160, 20]  # 80 left over + 100


def test_audio_is_released_at_most_the_lead_ahead_of_playback() -> None:
    queue = PlaybackQueue(lead_ms=200)
    queue.add_audio("u1", b"\x00" * 160 * 50, final=True)  # one second
    assert len(queue.due(0.0)) == 10  # 200 ms
    assert queue.due(0.0) == [] and queue.wait_s(0.0) == 0.0
    assert len(queue.due(0.1)) == 5  # 100 ms played, 100 ms more may go
    assert 0.0 < queue.ahead_ms(0.1) <= 200
    assert queue.wait_s(0.1) == 0.0


def test_after_an_underrun_the_clock_restarts_from_now() -> None:
    queue = PlaybackQueue(lead_ms=200)
    queue.add_audio("u1", b"\x00" * 160, final=True)
    queue.due(0.0)
    queue.add_audio("u2", b"\x00" * 160 * 20, final=True)
    assert len(queue.due(5.0)) == 10  # Twilio went silent long ago; the lead starts again at 5 s


def test_a_mark_follows_the_audio_before_it() -> None:
    queue = PlaybackQueue(lead_ms=40)
    queue.add_audio("u1", b"\x00" * 160 * 3, final=False)
    queue.add_mark("m1", "u1")
    first = queue.due(0.0)
    assert not any(isinstance(i, MarkItem) for i in first)
    rest = queue.due(1.0)
    assert isinstance(rest[-1], MarkItem) and rest[-1].mark_id == "m1"


def test_clear_drops_queued_audio_and_reports_unsent_marks_as_cleared() -> None:
    queue = PlaybackQueue(lead_ms=200)
    queue.add_audio("u1", b"\x00" * 160 * 100, final=True)
    queue.add_mark("m1", "u1")
    queue.due(0.0)
    twilio_busy, never_sent = queue.clear(0.05)
    assert twilio_busy and never_sent == ["m1"]
    assert queue.due(1.0) == [] and queue.idle


def test_a_mark_sent_before_a_clear_echoes_as_cleared_and_one_after_as_played() -> None:
    queue = PlaybackQueue(lead_ms=10_000)
    queue.add_audio("u1", b"\x00" * 160, final=True)
    queue.add_mark("m1", "u1")
    queue.due(0.0)
    assert queue.clear(0.001) == (True, [])
    assert queue.echo("m1") is False
    queue.add_audio("u2", b"\x00" * 160, final=True)
    queue.add_mark("m2", "u2")
    queue.due(0.01)
    assert queue.echo("m2") is True and queue.idle


def test_clearing_up_to_an_utterance_keeps_the_ones_after_it() -> None:
    queue = PlaybackQueue(lead_ms=0)
    queue.add_audio("u1", b"\x01" * 320, final=True)
    queue.add_audio("u2", b"\x02" * 320, final=True)
    queue.add_mark("m2", "u2")
    assert queue.clear(0.0, up_to_utterance_id="u1") == (False, [])
    queue.lead_ms = 10_000
    kept = queue.due(0.0)
    assert {i.utterance_id for i in kept} == {"u2"}
    assert isinstance(kept[-1], MarkItem)


def test_nothing_to_clear_means_twilio_needs_no_clear() -> None:
    assert PlaybackQueue().clear(0.0) == (False, [])
