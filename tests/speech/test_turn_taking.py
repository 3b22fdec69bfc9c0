"""The turn-taking state machine on scripted timelines: one VAD probability per 20 ms media frame."""

from __future__ import annotations

import dataclasses

from agent_service.speech.turns import BargeIn, SpeechEnded, SpeechStarted, TurnEvent, TurnPolicy, TurnTaker

POLICY = TurnPolicy(min_speech_ms=100, hangover_ms=500, barge_in_ms=200)  # explicit: not the defaults


def run(
    timeline: list[tuple[int, float]], *, agent_speaking: bool = False, policy: TurnPolicy = POLICY
) -> list[tuple[int, TurnEvent]]:
    """timeline: (milliseconds, probability) spans, played frame by frame from media time 0."""
    taker = TurnTaker(policy)
    events: list[tuple[int, TurnEvent]] = []
    now = 0
    for span_ms, probability in timeline:
        for _ in range(span_ms // policy.frame_ms):
            events.extend((now, e) for e in taker.on_frame(now, probability, agent_speaking=agent_speaking))
            now += policy.frame_ms
    return events


def test_an_utterance_ends_after_the_hangover_of_silence() -> None:
    events = run([(400, 0.0), (1000, 0.9), (1000, 0.05)])
    assert [e for _, e in events] == [
        SpeechStarted(400),
        SpeechEnded(400, 1400, 1000, during_agent_speech=False),
    ]
    ended_at = [at for at, e in events if isinstance(e, SpeechEnded)][0]
    assert ended_at + 20 - 1400 == POLICY.hangover_ms  # decided on the frame that completes the hangover


def test_a_pause_shorter_than_the_hangover_keeps_one_utterance() -> None:
    events = [e for _, e in run([(600, 0.9), (300, 0.0), (600, 0.9), (600, 0.0)])]
    assert events == [SpeechStarted(0), SpeechEnded(0, 1500, 1200, during_agent_speech=False)]


def test_a_click_shorter_than_the_minimum_is_not_a_turn() -> None:
    assert run([(60, 0.95), (1000, 0.0)]) == []


def test_uncertain_frames_keep_the_previous_state() -> None:
    # 0.4 is between the silence (0.35) and speech (0.5) thresholds: neither starts nor ends speech.
    events = [e for _, e in run([(200, 0.4), (300, 0.9), (300, 0.4), (600, 0.1)])]
    assert events == [SpeechStarted(200), SpeechEnded(200, 800, 600, during_agent_speech=False)]


def test_speech_over_the_agent_barges_in_once_the_threshold_is_reached() -> None:
    events = run([(100, 0.0), (1000, 0.9), (600, 0.0)], agent_speaking=True)
    barge = [(at, e) for at, e in events if isinstance(e, BargeIn)]
    assert barge == [(280, BargeIn(300, 200))]  # the 10th speech frame (started at 280 ms) completes 200 ms
    assert isinstance(events[-1][1], SpeechEnded) and not events[-1][1].during_agent_speech


def test_a_cough_or_mm_hm_over_the_agent_does_not_interrupt_and_is_not_a_turn() -> None:
    events = [e for _, e in run([(100, 0.0), (160, 0.9), (600, 0.0)], agent_speaking=True)]
    assert events == [SpeechStarted(100), SpeechEnded(100, 260, 160, during_agent_speech=True)]


def test_a_very_long_utterance_is_cut_at_the_maximum() -> None:
    policy = TurnPolicy(max_utterance_ms=2000)
    ended = [e for _, e in run([(3000, 0.9)], policy=policy) if isinstance(e, SpeechEnded)]
    assert ended == [SpeechEnded(0, 2000, 2000, during_agent_speech=False)]


def test_with_barge_in_off_long_speech_over_the_agent_never_interrupts() -> None:
    policy = dataclasses.replace(POLICY, barge_in=False)
    events = [e for _, e in run([(100, 0.0), (1000, 0.9), (600, 0.0)], agent_speaking=True, policy=policy)]
    assert not any(isinstance(e, BargeIn) for e in events)
    assert events[-1] == SpeechEnded(100, 1100, 1000, during_agent_speech=True)  # heard as a backchannel


def test_speech_over_a_protected_start_interrupts_as_soon_as_the_protection_ends() -> None:
    taker = TurnTaker(POLICY)
    barges = []
    for frame in range(50):  # 1 s of speech over the agent; the first 600 ms are protected
        now = frame * POLICY.frame_ms
        events = taker.on_frame(now, 0.9, agent_speaking=True, interruptible=now >= 600)
        barges += [(now, e) for e in events if isinstance(e, BargeIn)]
    assert barges == [(600, BargeIn(620, 620))]
