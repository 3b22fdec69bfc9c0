"""µ-law and resampling: exact against G.711's reference points, and sane on real signals."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from agentlocator_common.telephone_audio import frames, mulaw_decode, mulaw_encode, resample
from voice_gateway.wav import read_wav, wav_to_mulaw, write_mulaw_wav, write_pcm_wav


def test_g711_reference_points() -> None:
    samples = np.array([0, -1, 32767, -32768, 8, -8], dtype=np.int16)
    assert list(mulaw_encode(samples)) == [0xFF, 0x7E, 0x80, 0x00, 0xFE, 0x7E]
    assert list(mulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00]))) == [0, 0, 32124, -32124]


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="audioop left the standard library in 3.13")
def test_bit_exact_with_audioop_for_every_sample_and_code() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    every = np.arange(-32768, 32768, dtype=np.int16)
    assert mulaw_encode(every) == audioop.lin2ulaw(every.astype("<i2").tobytes(), 2)
    codes = bytes(range(256))
    assert mulaw_decode(codes).astype("<i2").tobytes() == audioop.ulaw2lin(codes, 2)


def test_decode_then_encode_returns_every_code_except_negative_zero() -> None:
    codes = bytes(range(256))
    again = mulaw_encode(mulaw_decode(codes))
    assert [c for c, a in zip(codes, again, strict=True) if c != a] == [0x7F]  # -0 encodes as +0


def test_resampling_keeps_a_tone_at_its_frequency() -> None:
    rate = 16000
    tone = (np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 10000).astype(np.int16)
    down = resample(tone, rate, 8000)
    assert len(down) == 8000
    spectrum = np.abs(np.fft.rfft(down.astype(np.float64)))
    assert int(np.argmax(spectrum)) == 440  # 1 Hz per bin for a one-second signal


def test_a_wav_at_any_rate_becomes_8khz_mulaw_and_back(tmp_path: Path) -> None:
    rate = 44100
    tone = (np.sin(2 * np.pi * 300 * np.arange(rate // 2) / rate) * 12000).astype(np.int16)
    source = tmp_path / "in.wav"
    write_pcm_wav(source, tone, rate)
    mulaw = wav_to_mulaw(source)
    assert len(mulaw) == 4000
    out = tmp_path / "out.wav"
    write_mulaw_wav(out, mulaw)
    samples, out_rate = read_wav(out)
    assert out_rate == 8000 and len(samples) == 4000
    assert 8000 < np.abs(samples).max() < 13000


def test_frames_are_twilio_sized_and_the_last_is_padded_with_silence() -> None:
    cut = frames(b"\x01" * 400)
    assert [len(f) for f in cut] == [160, 160, 160]
    assert cut[-1].endswith(b"\xff" * 80)
