"""The turn-taking state machine on scripted timelines: one VAD probability per 20 ms media frame."""

from __future__ import annotations

import dataclasses

from agent_service.speech.turns import (
    BargeIn,
    Paused,
    SpeechEnded,
    SpeechResumed,
    SpeechStarted,
    TurnEvent,
    TurnPolicy,
    TurnTaker,
)

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
    assert ended == [SpeechEnded(0, 2000, 2000, during_agent_speech=False, decision="max_length")]


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


MODEL = dataclasses.replace(
    POLICY, pause_ms=100, end_of_turn_model=True, complete_hangover_ms=200, incomplete_hangover_ms=2000
)


def run_with_model(
    timeline: list[tuple[int, float]], answers: list[float | None], policy: TurnPolicy = MODEL
) -> list[tuple[int, TurnEvent]]:
    """Like `run`, with the end-of-turn model answering each Paused on the very frame it is announced."""
    taker = TurnTaker(policy)
    events: list[tuple[int, TurnEvent]] = []
    now = 0
    for span_ms, probability in timeline:
        for _ in range(span_ms // policy.frame_ms):
            for event in taker.on_frame(now, probability, agent_speaking=False):
                events.append((now, event))
                if isinstance(event, Paused) and answers:
                    taker.decide(event.end_ms, answers.pop(0))
            now += policy.frame_ms
    return events


def ended(events: list[tuple[int, TurnEvent]]) -> list[tuple[int, SpeechEnded]]:
    return [(at + 20, e) for at, e in events if isinstance(e, SpeechEnded)]


def test_a_pause_the_model_calls_finished_ends_the_turn_after_the_short_hangover() -> None:
    events = run_with_model([(200, 0.0), (1000, 0.9), (3000, 0.0)], [0.9])
    assert [e for _, e in events if isinstance(e, Paused)] == [Paused(200, 1200, 1000)]
    assert ended(events) == [(1400, SpeechEnded(200, 1200, 1000, False, "complete"))]


def test_a_pause_the_model_calls_unfinished_waits_and_the_caller_going_on_keeps_one_turn() -> None:
    # 800 ms of silence would end the turn on the fixed 500 ms hangover; unfinished, it waits 2 s.
    events = run_with_model([(1000, 0.9), (800, 0.0), (600, 0.9), (3000, 0.0)], [0.1, 0.9])
    kinds = [type(e).__name__ for _, e in events]
    assert kinds == ["SpeechStarted", "Paused", "SpeechResumed", "Paused", "SpeechEnded"]
    assert ended(events) == [(2600, SpeechEnded(0, 2400, 1600, False, "complete"))]
    unfinished = run_with_model([(1000, 0.9), (3000, 0.0)], [0.1])
    assert ended(unfinished) == [(3000, SpeechEnded(0, 1000, 1000, False, "incomplete"))]


def test_an_answer_about_a_pause_the_caller_spoke_after_is_ignored() -> None:
    taker = TurnTaker(MODEL)
    for frame in range(50):
        taker.on_frame(frame * 20, 0.9, agent_speaking=False)
    assert [type(e) for e in taker.on_frame(1000, 0.0, agent_speaking=False)] == []
    assert [type(e) for e in taker.on_frame(1020, 0.0, agent_speaking=False)] == []
    assert [type(e) for e in taker.on_frame(1040, 0.0, agent_speaking=False)] == []
    assert [type(e) for e in taker.on_frame(1060, 0.0, agent_speaking=False)] == []
    assert [type(e) for e in taker.on_frame(1080, 0.0, agent_speaking=False)] == [Paused]
    assert [type(e) for e in taker.on_frame(1100, 0.9, agent_speaking=False)] == [SpeechResumed]
    assert not taker.decide(1000, 0.99)  # late: the caller has spoken since
    events = [e for frame in range(56, 200) for e in taker.on_frame(frame * 20, 0.0, agent_speaking=False)]
    assert [e.decision for e in events if isinstance(e, SpeechEnded)] == ["undecided"]


def test_without_an_answer_the_turn_ends_after_the_long_hangover_and_a_failed_model_on_silence() -> None:
    assert ended(run_with_model([(1000, 0.9), (3000, 0.0)], [])) == [
        (3000, SpeechEnded(0, 1000, 1000, False, "undecided"))
    ]
    assert ended(run_with_model([(1000, 0.9), (3000, 0.0)], [None])) == [
        (1500, SpeechEnded(0, 1000, 1000, False, "fallback"))
    ]


def test_a_backchannel_over_the_agent_is_not_a_pause_and_ends_on_the_fixed_hangover() -> None:
    events = run([(100, 0.0), (160, 0.9), (1000, 0.0)], agent_speaking=True, policy=MODEL)
    assert [e for _, e in events] == [
        SpeechStarted(100),
        SpeechEnded(100, 260, 160, during_agent_speech=True),
    ]


def test_with_a_pause_length_but_no_model_the_fixed_hangover_still_decides() -> None:
    policy = dataclasses.replace(POLICY, pause_ms=100)
    events = run([(1000, 0.9), (1000, 0.0)], policy=policy)
    assert [type(e).__name__ for _, e in events] == ["SpeechStarted", "Paused", "SpeechEnded"]
    assert ended(events)[0] == (1500, SpeechEnded(0, 1000, 1000, False, "silence"))


def test_an_unsure_answer_leaves_the_turn_to_the_fixed_hangover() -> None:
    taker = TurnTaker(MODEL)
    events: list[tuple[int, TurnEvent]] = []
    for frame in range(200):
        now = frame * 20
        for event in taker.on_frame(now, 0.9 if frame < 50 else 0.0, agent_speaking=False):
            events.append((now, event))
            if isinstance(event, Paused):
                assert taker.decide(event.end_ms, 0.5, unsure=True)
    assert ended(events) == [(1500, SpeechEnded(0, 1000, 1000, False, "silence"))]
