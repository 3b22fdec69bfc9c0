"""The three interfaces a speech provider implements. Audio is int16 PCM numpy arrays with their rate.

Models are shared by every call of a process; per-call state (the VAD's recurrent state) lives in a
stream object each call opens. Blocking inference runs in a worker thread, so the event loop keeps
serving other calls' audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agentlocator_common.telephone_audio import Pcm


class VadStream(Protocol):
    """One call's voice activity: fed 8 kHz PCM in arrival order, answers speech probability."""

    def process(self, pcm: Pcm) -> float | None:
        """The probability of speech in the latest complete window, or None if no window completed."""
        ...


class Vad(Protocol):
    name: str

    def open_stream(self) -> VadStream: ...


class SpeechToText(Protocol):
    name: str

    async def transcribe(self, pcm: Pcm, sample_rate: int) -> str: ...


@dataclass(frozen=True, slots=True)
class SpeechAudio:
    pcm: Pcm
    sample_rate: int


class TextToSpeech(Protocol):
    name: str

    async def synthesize(self, text: str) -> SpeechAudio: ...


class EndOfTurnModel(Protocol):
    """Does the caller's speech so far sound like a finished turn? (smart_turn.py)"""

    name: str

    async def complete(self, pcm: Pcm, sample_rate: int) -> float:
        """The probability, 0..1, that the turn ending with `pcm` is complete."""
        ...
