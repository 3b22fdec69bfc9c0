from __future__ import annotations

import warnings

import numpy as np

from agentlocator_common import telephone_audio

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference implementation, still in Python 3.11


def test_mulaw_encoding_is_bit_exact_with_audioop_for_every_sample_value() -> None:
    every = np.arange(-32768, 32768, dtype=np.int16)
    assert telephone_audio.mulaw_encode(every) == audioop.lin2ulaw(every.tobytes(), 2)


def test_mulaw_decoding_is_bit_exact_with_audioop_for_every_code() -> None:
    codes = bytes(range(256))
    assert telephone_audio.mulaw_decode(codes).tobytes() == audioop.ulaw2lin(codes, 2)


def test_resampling_piper_rate_to_the_telephone_keeps_pitch_and_duration() -> None:
    rate = 22050
    t = np.arange(rate * 2) / rate
    tone = (np.sin(2 * np.pi * 1000 * t) * 10000).astype(np.int16)
    out = telephone_audio.resample(tone, rate, telephone_audio.TELEPHONE_RATE)
    assert abs(len(out) - 2 * telephone_audio.TELEPHONE_RATE) <= 1
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
    peak_hz = np.argmax(spectrum) * telephone_audio.TELEPHONE_RATE / len(out)
    assert abs(peak_hz - 1000) < 2


def test_resampling_removes_what_the_telephone_band_cannot_carry() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    above_nyquist = (np.sin(2 * np.pi * 6000 * t) * 10000).astype(np.int16)
    out = telephone_audio.resample(above_nyquist, rate, telephone_audio.TELEPHONE_RATE)
    # Without an anti-alias filter 6 kHz folds to 2 kHz at full strength; soxr leaves almost nothing.
    assert np.sqrt(np.mean(out[200:-200].astype(np.float64) ** 2)) < 100


def test_frames_cut_wire_audio_into_whole_20ms_frames_padded_with_silence() -> None:
    frames = telephone_audio.frames(b"\x00" * 330)
    assert [len(f) for f in frames] == [160, 160, 160]
    assert frames[-1][10:] == bytes([telephone_audio.MULAW_SILENCE]) * 150
