"""G.711 µ-law with numpy lookup tables, resampling with soxr, and WAV files in and out.

`audioop` (which had µ-law) left the standard library in Python 3.13; these tables are bit-exact with it.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

TELEPHONY_RATE = 8000
FRAME_BYTES = 160  # 20 ms of µ-law at 8 kHz: what Twilio sends per media message
MULAW_SILENCE = 0xFF

_BIAS = 0x84
_CLIP14 = 8159
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _build_decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _build_encode_table() -> npt.NDArray[np.uint8]:
    # The classic 14-bit G.711 encoder (as in audioop): the arithmetic shift rounds negatives down.
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), _CLIP14) + (_BIAS >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude, side="left")
    value = (np.minimum(segment, 7) << 4) | ((magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F)
    value = np.where(segment >= 8, 0x7F, value)
    return ((value ^ mask) & 0xFF).astype(np.uint8)


_DECODE = _build_decode_table()
_ENCODE = _build_encode_table()


def mulaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    decoded: npt.NDArray[np.int16] = _DECODE[np.frombuffer(data, dtype=np.uint8)]
    return decoded


def mulaw_encode(samples: npt.NDArray[np.int16]) -> bytes:
    return _ENCODE[samples.astype(np.int32) + 32768].tobytes()


def resample(samples: npt.NDArray[np.int16], from_rate: int, to_rate: int) -> npt.NDArray[np.int16]:
    """One-shot resampling: soxr's streaming mode would hold back ~100 ms we never get back."""
    if from_rate == to_rate:
        return samples
    out: npt.NDArray[np.float32] = soxr.resample(
        samples.astype(np.float32) / 32768.0, from_rate, to_rate, quality="HQ"
    )
    return np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)


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
    return mulaw_encode(resample(samples, rate, TELEPHONY_RATE))


def write_mulaw_wav(path: Path, mulaw: bytes) -> None:
    path.write_bytes(mulaw_wav_bytes(mulaw))


def mulaw_wav_bytes(mulaw: bytes) -> bytes:
    """µ-law audio as a 16-bit PCM WAV at 8 kHz, which every player (and every browser) opens."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(TELEPHONY_RATE)
        wav.writeframes(mulaw_decode(mulaw).astype("<i2").tobytes())
    return out.getvalue()


def write_pcm_wav(path: Path, samples: npt.NDArray[np.int16], rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def frames(mulaw: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """Cut audio into Twilio-sized frames, padding the last one with µ-law silence."""
    out = [mulaw[i : i + size] for i in range(0, len(mulaw), size)]
    if out and len(out[-1]) < size:
        out[-1] = out[-1] + bytes([MULAW_SILENCE]) * (size - len(out[-1]))
    return out
