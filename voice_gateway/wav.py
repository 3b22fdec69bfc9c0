"""WAV files in and out of telephone audio, for the simulator, the smoke test and the console."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from agentlocator_common.telephone_audio import TELEPHONE_RATE, mulaw_decode, mulaw_encode, resample


def read_wav(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    """Mono 16-bit samples and the file's rate; stereo is averaged, 8/24/32-bit PCM is converted."""
    with wave.open(str(path), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif width == 3:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)) << 8) >> 16
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.int64) >> 16
    else:
        raise ValueError(f"{path}: unsupported sample width {width}")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return np.asarray(data, dtype=np.int32).clip(-32768, 32767).astype(np.int16), rate


def wav_to_mulaw(path: Path) -> bytes:
    samples, rate = read_wav(path)
    return mulaw_encode(resample(samples, rate, TELEPHONE_RATE))


def write_mulaw_wav(path: Path, mulaw: bytes) -> None:
    path.write_bytes(mulaw_wav_bytes(mulaw))


def mulaw_wav_bytes(mulaw: bytes) -> bytes:
    """µ-law audio as a 16-bit PCM WAV at 8 kHz, which every player (and every browser) opens."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(TELEPHONE_RATE)
        wav.writeframes(mulaw_decode(mulaw).astype("<i2").tobytes())
    return out.getvalue()


def write_pcm_wav(path: Path, samples: npt.NDArray[np.int16], rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
