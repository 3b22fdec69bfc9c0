"""Shared speech fixtures: the real embedded models, loaded once per test session, and audio made here."""

from __future__ import annotations

import numpy as np
import pytest

from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio


@pytest.fixture(scope="session")
def piper() -> PiperTts:
    return PiperTts()


@pytest.fixture(scope="session")
def whisper() -> WhisperStt:
    return WhisperStt(threads=2)


@pytest.fixture(scope="session")
def silero() -> SileroVad:
    return SileroVad()


def telephone(piper: PiperTts, text: str, *, noise: float = 60.0, seed: int = 1) -> bytes:
    """`text` as a caller's line carries it: Piper (without its sampling noise, so every run hears the same
    speech), 8 kHz, a little seeded line noise, µ-law."""
    speech = piper.synthesize_blocking(text, vary=False)
    pcm = telephone_audio.resample(speech.pcm, speech.sample_rate, telephone_audio.TELEPHONE_RATE).astype(
        np.float64
    )
    pcm += np.random.default_rng(seed).normal(0.0, noise, len(pcm))
    return telephone_audio.mulaw_encode(np.clip(pcm, -32768, 32767).astype(np.int16))


def line_noise(seconds: float, *, noise: float = 60.0, seed: int = 2) -> bytes:
    samples = np.random.default_rng(seed).normal(0.0, noise, int(telephone_audio.TELEPHONE_RATE * seconds))
    return telephone_audio.mulaw_encode(np.clip(samples, -32768, 32767).astype(np.int16))


def words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()
