"""Turn-taking on the media clock: when the caller starts and stops speaking, and when they barge in.

Sans-IO: fed one speech probability per 20 ms frame with the frame's media timestamp, it returns events.
Nothing here reads a wall clock, so scripted timelines test it exactly.

How long a pause ends the turn: without an end-of-turn model, `hangover_ms` of silence. With one, the
caller's pause is announced (`Paused`, after `pause_ms`), the pipeline asks the model whether the speech
so far sounds finished and passes the answer back with `decide`; a finished turn then ends after
`complete_hangover_ms` of silence, an unfinished one after `incomplete_hangover_ms` (also the bound while
no answer has come). `Paused` is also when a speculative transcription may start; speech that resumes
after it makes it stale (`SpeechResumed`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    speech_threshold: float = 0.5  # probability at or above which a frame is speech
    silence_threshold: float = 0.35  # below this a frame is silence (between the two: keeps the last state)
    min_speech_ms: int = 100  # speech shorter than this never becomes a user turn (clicks, breaths)
    hangover_ms: int = 500  # silence that ends an utterance when no end-of-turn model decides
    barge_in_ms: int = 180  # speech this long while the agent talks interrupts it (coughs, "mm-hm" don't)
    barge_in: bool = True  # False: the caller cannot interrupt; speech over the agent is a backchannel
    # For this long after the agent starts speaking a reply it cannot be interrupted; on_frame's caller
    # knows when that was and passes `interruptible`.
    protected_ms: int = 0
    max_utterance_ms: int = 15000  # a longer utterance is cut and handled, so a noisy line cannot stall
    frame_ms: int = 20
    pause_ms: int = 0  # silence after which a turn's pause is announced (Paused); 0: never
    end_of_turn_model: bool = False  # the pipeline answers each Paused with `decide`
    complete_threshold: float = 0.5  # the model's probability at or above which the turn sounds finished
    complete_hangover_ms: int = 200
    incomplete_hangover_ms: int = 2500


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    start_ms: int


@dataclass(frozen=True, slots=True)
class BargeIn:
    at_ms: int
    speech_ms: int


@dataclass(frozen=True, slots=True)
class Paused:
    start_ms: int
    end_ms: int  # the end of the last speech frame: the pause began here
    speech_ms: int


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    at_ms: int
    paused_end_ms: int  # the Paused this makes stale


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    start_ms: int
    end_ms: int  # media time of the last speech frame's end
    speech_ms: int
    during_agent_speech: bool  # the agent was talking and was not interrupted: a backchannel, not a turn
    # What ended it: silence (the fixed hangover), complete / incomplete (the model's answer), undecided
    # (no answer in time), fallback (the model failed: the fixed hangover), max_length.
    decision: str = "silence"


TurnEvent = SpeechStarted | BargeIn | Paused | SpeechResumed | SpeechEnded


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
        self._paused = False  # Paused was announced for the current silence
        # The model's answer for the current pause: complete, incomplete, fallback, silence (unsure).
        self._decision = ""

    @property
    def user_speaking(self) -> bool:
        return self._in_turn

    def decide(self, end_ms: int, probability: float | None, *, unsure: bool = False) -> bool:
        """The end-of-turn model's answer for the pause that began at `end_ms` (None: it failed; `unsure`:
        it cannot tell, and the fixed hangover ends the turn as without a model); ignored, returning
        False, when the caller has spoken again since."""
        if not (self._in_turn and self._paused and end_ms == self._last_speech_end_ms):
            return False
        if unsure:
            self._decision = "silence"
        elif probability is None:
            self._decision = "fallback"
        else:
            self._decision = "complete" if probability >= self.policy.complete_threshold else "incomplete"
        return True

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
            if self._paused:
                events.append(SpeechResumed(media_ms, self._last_speech_end_ms))
            self._paused, self._decision = False, ""
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
                events.extend(self._end(self._last_speech_end_ms, "max_length"))
        elif self._in_turn:
            silence_ms = media_ms + p.frame_ms - self._last_speech_end_ms
            if p.pause_ms and not self._paused and silence_ms >= p.pause_ms and self._is_turn():
                self._paused = True
                events.append(Paused(self._start_ms, self._last_speech_end_ms, self._speech_ms))
            wait_ms, decision = self._hangover()
            if silence_ms >= wait_ms:
                events.extend(self._end(self._last_speech_end_ms, decision))
        return events

    def _is_turn(self) -> bool:
        """Enough speech, and not a backchannel over the agent."""
        return self._speech_ms >= self.policy.min_speech_ms and not (self._overlapped and not self._barged)

    def _hangover(self) -> tuple[int, str]:
        p = self.policy
        if not p.end_of_turn_model or not self._is_turn() or self._decision in ("fallback", "silence"):
            return p.hangover_ms, self._decision or "silence"
        if self._decision == "complete":
            return p.complete_hangover_ms, "complete"
        # Also the bound while the model has not answered (an answer that never comes: "undecided").
        return p.incomplete_hangover_ms, self._decision or "undecided"

    def _end(self, end_ms: int, decision: str) -> list[TurnEvent]:
        self._in_turn, self._paused, self._decision = False, False, ""
        if self._speech_ms < self.policy.min_speech_ms:
            return []
        backchannel = self._overlapped and not self._barged
        return [SpeechEnded(self._start_ms, end_ms, self._speech_ms, backchannel, decision)]
