"""Turn-taking on the media clock: when the caller starts and stops speaking, and when they barge in.

Sans-IO: fed one speech probability per 20 ms frame with the frame's media timestamp, it returns events.
Nothing here reads a wall clock, so scripted timelines test it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    speech_threshold: float = 0.5  # probability at or above which a frame is speech
    silence_threshold: float = 0.35  # below this a frame is silence (between the two: keeps the last state)
    min_speech_ms: int = 100  # speech shorter than this never becomes a user turn (clicks, breaths)
    hangover_ms: int = 500  # silence that ends an utterance
    barge_in_ms: int = 180  # speech this long while the agent talks interrupts it (coughs, "mm-hm" don't)
    barge_in: bool = True  # False: the caller cannot interrupt; speech over the agent is a backchannel
    # For this long after the agent starts speaking a reply it cannot be interrupted; on_frame's caller
    # knows when that was and passes `interruptible`.
    protected_ms: int = 0
    max_utterance_ms: int = 15000  # a longer utterance is cut and handled, so a noisy line cannot stall
    frame_ms: int = 20


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    start_ms: int


@dataclass(frozen=True, slots=True)
class BargeIn:
    at_ms: int
    speech_ms: int


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    start_ms: int
    end_ms: int  # media time of the last speech frame's end
    speech_ms: int
    during_agent_speech: bool  # the agent was talking and was not interrupted: a backchannel, not a turn


TurnEvent = SpeechStarted | BargeIn | SpeechEnded


class TurnTaker:
    def __init__(self, policy: TurnPolicy) -> None:
        self.policy = policy
        self._speaking = False  # the current frame state, with hysteresis
        self._in_turn = False
        self._start_ms = 0
        self._last_speech_end_ms = 0
        self._speech_ms = 0
        self._announced = False
        self._barged = False
        self._overlapped = False

    @property
    def user_speaking(self) -> bool:
        return self._in_turn

    def on_frame(
        self, media_ms: int, probability: float, *, agent_speaking: bool, interruptible: bool = True
    ) -> list[TurnEvent]:
        """Events for one frame. `interruptible=False` holds a barge-in back (the agent's protected start);
        speech that goes on past it interrupts as soon as it is allowed."""
        p = self.policy
        if probability >= p.speech_threshold:
            self._speaking = True
        elif probability < p.silence_threshold:
            self._speaking = False
        events: list[TurnEvent] = []
        if self._speaking:
            if not self._in_turn:
                self._in_turn, self._start_ms, self._speech_ms = True, media_ms, 0
                self._announced = self._barged = self._overlapped = False
            self._speech_ms += p.frame_ms
            self._last_speech_end_ms = media_ms + p.frame_ms
            self._overlapped = self._overlapped or agent_speaking
            if not self._announced and self._speech_ms >= p.min_speech_ms:
                self._announced = True
                events.append(SpeechStarted(self._start_ms))
            may_interrupt = agent_speaking and p.barge_in and interruptible
            if may_interrupt and not self._barged and self._speech_ms >= p.barge_in_ms:
                self._barged = True
                events.append(BargeIn(media_ms + p.frame_ms, self._speech_ms))
            if media_ms + p.frame_ms - self._start_ms >= p.max_utterance_ms:
                events.extend(self._end(self._last_speech_end_ms))
        elif self._in_turn and media_ms + p.frame_ms - self._last_speech_end_ms >= p.hangover_ms:
            events.extend(self._end(self._last_speech_end_ms))
        return events

    def _end(self, end_ms: int) -> list[TurnEvent]:
        self._in_turn = False
        if self._speech_ms < self.policy.min_speech_ms:
            return []
        backchannel = self._overlapped and not self._barged
        return [SpeechEnded(self._start_ms, end_ms, self._speech_ms, during_agent_speech=backchannel)]
