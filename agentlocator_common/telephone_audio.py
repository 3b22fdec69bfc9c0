"""Telephone audio as both services carry it: 8 kHz G.711 µ-law in 20 ms (160-byte) frames.

µ-law uses lookup tables that are bit-exact with the old `audioop` (gone in Python 3.13). Resampling is
one shot per utterance or sentence: soxr's streaming mode holds back ~100 ms, and one-shot calls mean no
resampler state can leak across a `clear`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

Pcm = npt.NDArray[np.int16]

TELEPHONE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = TELEPHONE_RATE * FRAME_MS // 1000  # 160: one Twilio media frame
MULAW_SILENCE = 0xFF
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _encode_table() -> npt.NDArray[np.uint8]:
    # The Sun g711 algorithm on 14-bit magnitudes, as CPython's audioop implemented it.
    s = np.arange(-32768, 32768, dtype=np.int32) >> 2
    negative = s < 0
    magnitude = np.minimum(np.where(negative, -s, s), 8159) + 0x21
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude, side="left")
    value = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return (value ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8)


def _decode_table() -> Pcm:
    table = np.zeros(256, np.int16)
    for code in range(256):
        u = ~code & 0xFF
        v = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
        table[code] = (0x84 - v) if (u & 0x80) else (v - 0x84)
    return table


_ENCODE = _encode_table()
_DECODE = _decode_table()


def mulaw_encode(pcm: Pcm) -> bytes:
    return _ENCODE[pcm.astype(np.int32) + 32768].tobytes()


def mulaw_decode(data: bytes) -> Pcm:
    return _DECODE[np.frombuffer(data, np.uint8)]


def resample(pcm: Pcm, from_rate: int, to_rate: int) -> Pcm:
    if from_rate == to_rate or len(pcm) == 0:
        return pcm.astype(np.int16, copy=False)
    out = soxr.resample(pcm.astype(np.float32) / 32768.0, from_rate, to_rate, quality="HQ")
    result: Pcm = np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)
    return result


def to_telephone(pcm: Pcm, sample_rate: int) -> bytes:
    """A voice's PCM as a phone call carries it: 8 kHz µ-law."""
    return mulaw_encode(resample(pcm, sample_rate, TELEPHONE_RATE))


def to_float(pcm: Pcm) -> npt.NDArray[np.float32]:
    return pcm.astype(np.float32) / 32768.0


def frames(mulaw: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """Cut audio into wire frames; the last one is padded with silence so every frame is whole."""
    out = [mulaw[i : i + size] for i in range(0, len(mulaw), size)]
    if out and len(out[-1]) < size:
        out[-1] = out[-1] + bytes([MULAW_SILENCE]) * (size - len(out[-1]))
    return out
