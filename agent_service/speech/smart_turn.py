"""Smart Turn v3.2: does the caller's speech so far sound finished? An audio model, run with onnxruntime.

The model (BSD-2-Clause, 8.7 MB) ships inside the `pipecat-ai` wheel, installed without its dependencies
(it pins protobuf<7): the file is found through the distribution's own file list and checked against a
pinned sha256 before it is loaded. It takes the last 8 s of 16 kHz audio (zero-padded in front when
shorter), normalised to zero mean and unit variance, as Whisper's 80-band log-mel spectrogram (100 frames
a second, 800 frames), and answers the probability that the turn is complete. It was trained on wideband
speech; on 8 kHz telephone audio (upsampled) it is measured, not assumed: docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_service.errors import ModelLoadError
from agent_service.speech.checksums import SMART_TURN_V3_2_CPU_ONNX, verify
from agentlocator_common.telephone_audio import Pcm, resample, to_float

MODEL_RATE = 16000
WINDOW_S = 8
N_FFT = 400
HOP = 160
N_MELS = 80
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
DISTRIBUTION = "pipecat-ai"


def bundled_model_path() -> Path:
    """The model file as the installed `pipecat-ai` distribution lists it (no import of pipecat itself)."""
    try:
        files = importlib.metadata.distribution(DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelLoadError(
            f"{DISTRIBUTION} is not installed (pip install --no-deps {DISTRIBUTION}==1.14.0)"
        ) from None
    for file in files:
        if file.name == MODEL_FILE:
            return Path(str(file.locate()))
    raise ModelLoadError(f"{DISTRIBUTION} does not list {MODEL_FILE}; install {DISTRIBUTION}==1.14.0")


def _mel_filters() -> npt.NDArray[np.float64]:
    """Slaney-scale triangular filters with area normalisation (what Whisper's extractor uses), (80, 201)."""

    def to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        linear = hz / (200.0 / 3)
        return np.where(
            hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27), linear
        )

    def to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27) * (mel - 15.0)), mel * (200.0 / 3))

    edges = to_hz(np.linspace(0.0, to_mel(np.array([MODEL_RATE / 2.0]))[0], N_MELS + 2))
    bins = np.linspace(0.0, MODEL_RATE / 2, N_FFT // 2 + 1)
    rising = (bins[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    falling = (edges[2:, None] - bins[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


_FILTERS = _mel_filters()
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann


def features(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """16 kHz float audio → the model's input, (80, 800): the last 8 s, normalised, as a log-mel."""
    samples = MODEL_RATE * WINDOW_S
    x = audio[-samples:].astype(np.float32)
    x = np.concatenate([np.zeros(samples - len(x), np.float32), x])
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=-1)) ** 2
    log_mel = np.log10(np.maximum(_FILTERS @ power.T, 1e-10))[:, :-1]
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    result: npt.NDArray[np.float32] = ((log_mel + 4.0) / 4.0).astype(np.float32)
    return result


class SmartTurn:
    """One onnxruntime session per process, shared by every call (session.run is thread-safe)."""

    name = "smart-turn"

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        # Lazy: onnxruntime loads only when the end-of-turn model is on.
        import onnxruntime as ort  # type: ignore[import-untyped]

        path = model_path or bundled_model_path()
        if model_path is None:
            verify(path, SMART_TURN_V3_2_CPU_ONNX)
        options = ort.SessionOptions()
        # One thread and no spinning: ~25 ms per decision, and the cores belong to Whisper and Piper.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types with the reason
            raise ModelLoadError(f"cannot load the end-of-turn model {path}: {e}") from e

    def complete_blocking(self, pcm: Pcm, sample_rate: int) -> float:
        """The probability that the speech in `pcm` (the turn so far, ending now) is a finished turn."""
        audio = to_float(resample(pcm, sample_rate, MODEL_RATE))
        if len(audio) == 0:
            return 0.0
        (out,) = self._session.run(None, {"input_features": features(audio)[None]})
        return float(np.asarray(out).reshape(-1)[0])

    async def complete(self, pcm: Pcm, sample_rate: int) -> float:
        return await asyncio.to_thread(self.complete_blocking, pcm, sample_rate)
