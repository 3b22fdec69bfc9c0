"""How fast the agent answers: speculative transcription, the end-of-turn model, the speech workers
(AGENT_PAUSE_MS, AGENT_SPECULATIVE_STT, AGENT_END_OF_TURN*, AGENT_*_HANGOVER_MS, STT_WORKERS,
STT_WINDOW_S, TTS_WORKERS, TTS_CACHE_SENTENCES), read with the rest of AgentSettings in settings.py; a
wrong value stops start-up with one line naming the variable. The figures behind the defaults are in
docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent_service.settings_values import Reader, boolean, finite_float, fraction, integer, one_of

END_OF_TURN = ("text", "silence", "smart-turn")


@dataclass(frozen=True, slots=True)
class TurnSettings:
    # Silence after the caller's speech at which the pause is announced: a speculative transcription
    # starts and the end-of-turn decision is made. 0: never. 300 rather than 200: on pauses the decision
    # was not tuned on, 200 ended 9 of 20 mid-sentence pauses against 4, for ~100 ms less per turn
    # (docs/benchmarks.md, issue 17).
    pause_ms: int = 300
    speculative_stt: bool = True  # transcribe at the pause; kept if the turn ends there, else dropped
    # text: the pause's speculative transcript decides (sentence_end.py; needs speculative_stt, else the
    # fixed hangover); silence: AGENT_HANGOVER_MS ends every turn; smart-turn: the audio model decides.
    end_of_turn: str = "text"
    end_of_turn_threshold: float = 0.5  # smart-turn: the probability of "finished" at which it counts
    # Silence that ends a turn judged finished: at most pause_ms, the turn ends as soon as it is judged.
    complete_hangover_ms: int = 200
    # ...and one judged unfinished (or not judged yet): the longest a caller's mid-sentence pause is waited
    # for.
    incomplete_hangover_ms: int = 2000
    stt_workers: int = 2  # transcriptions at once, across all calls (one CTranslate2 replica each)
    stt_window_s: float = 15.0  # Whisper's window cut to this (0: faster-whisper's own 30 s window)
    # Piper sentences synthesised at once across all calls: 2 measured no better than 1 on 2 cores
    # (each sentence already uses both), and worse at 16 calls.
    tts_workers: int = 1
    # Sentences kept as µ-law once said, for every call (speech/phrase_cache.py); 0: none.
    tts_cache_sentences: int = 256

    @classmethod
    def from_env(cls, read: Reader) -> TurnSettings:
        d = cls()
        return cls(
            pause_ms=read.parse("AGENT_PAUSE_MS", _milliseconds(0, 5000), d.pause_ms),
            speculative_stt=read.parse("AGENT_SPECULATIVE_STT", boolean, d.speculative_stt),
            end_of_turn=read.parse(
                "AGENT_END_OF_TURN", one_of(END_OF_TURN, "end-of-turn mode"), d.end_of_turn
            ),
            end_of_turn_threshold=read.parse(
                "AGENT_END_OF_TURN_THRESHOLD", fraction, d.end_of_turn_threshold
            ),
            complete_hangover_ms=read.parse(
                "AGENT_COMPLETE_HANGOVER_MS", _milliseconds(20, 5000), d.complete_hangover_ms
            ),
            incomplete_hangover_ms=read.parse(
                "AGENT_INCOMPLETE_HANGOVER_MS", _milliseconds(20, 10000), d.incomplete_hangover_ms
            ),
            stt_workers=read.parse("STT_WORKERS", _workers, d.stt_workers),
            stt_window_s=read.parse("STT_WINDOW_S", _window, d.stt_window_s),
            tts_workers=read.parse("TTS_WORKERS", _workers, d.tts_workers),
            tts_cache_sentences=read.parse("TTS_CACHE_SENTENCES", _sentences, d.tts_cache_sentences),
        )


def _milliseconds(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = integer(raw)
        if not low <= value <= high:
            raise ValueError(f"must be {low}..{high} ms")
        return value

    return parse


def _workers(raw: str) -> int:
    value = integer(raw)
    if not 1 <= value <= 64:
        raise ValueError("must be 1..64")
    return value


def _sentences(raw: str) -> int:
    value = integer(raw)
    if not 0 <= value <= 10000:
        raise ValueError("must be 0..10000")
    return value


def _window(raw: str) -> float:
    value = finite_float(raw)
    if value != 0 and not 5 <= value <= 30:
        raise ValueError("must be 0 (off) or 5..30 seconds")
    return value
