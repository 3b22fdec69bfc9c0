"""Speech providers by name, loaded once per process and shared by every call.

VAD_PROVIDER / STT_PROVIDER / TTS_PROVIDER choose the deployment's defaults; a call may pick others in
SessionStart.provider_overrides (`vad`, `stt`, `tts`). The composition root builds one registry per
process; calls and the Synthesize RPC share it, so a voice is loaded once. The provider modules are cheap
to import: each loads its engine (onnxruntime, faster-whisper, Piper) only when a provider is built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent_service.errors import ProtocolError
from agent_service.settings import AgentSettings
from agent_service.speech.base import SpeechToText, TextToSpeech, Vad
from agent_service.speech.hints import SpeechHints
from agent_service.speech.openai_compat import OpenAiStt, OpenAiTts
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.whisper_stt import WhisperStt


@dataclass(frozen=True, slots=True)
class SpeechConfig:
    """The speech part of AgentSettings; its defaults live there only, so the two cannot drift."""

    vad: str
    stt: str
    tts: str
    stt_threads: int
    stt_workers: int  # decodes at once across calls (settings_turns.py)
    stt_window_s: float
    tts_workers: int
    stt_language: str
    stt_base_url: str
    stt_api_key: str
    stt_model: str
    tts_base_url: str
    tts_api_key: str
    tts_model: str
    tts_voice: str
    http_timeout_s: float
    # The business's own words for the ears, built from the knowledge file once by the composition root.
    stt_hints: SpeechHints = SpeechHints()

    @classmethod
    def from_settings(cls, settings: AgentSettings, hints: SpeechHints | None = None) -> SpeechConfig:
        return cls(
            vad=settings.vad_provider,
            stt=settings.stt_provider,
            tts=settings.tts_provider,
            stt_threads=settings.stt_threads,
            stt_workers=settings.turns.stt_workers,
            stt_window_s=settings.turns.stt_window_s,
            tts_workers=settings.turns.tts_workers,
            stt_language=settings.stt_language,
            stt_base_url=settings.stt_base_url,
            stt_api_key=settings.stt_api_key,
            stt_model=settings.stt_model,
            tts_base_url=settings.tts_base_url,
            tts_api_key=settings.tts_api_key,
            tts_model=settings.tts_model,
            tts_voice=settings.tts_voice,
            http_timeout_s=settings.speech_timeout_s,
            stt_hints=hints or SpeechHints(),
        )


@dataclass(frozen=True, slots=True)
class SpeechStack:
    vad: Vad
    stt: SpeechToText
    tts: TextToSpeech


def _silero(config: SpeechConfig) -> Vad:
    return SileroVad()


def _whisper(config: SpeechConfig) -> SpeechToText:
    return WhisperStt(
        threads=config.stt_threads,
        language=config.stt_language,
        hints=config.stt_hints,
        workers=config.stt_workers,
        window_s=config.stt_window_s,
    )


def _openai_stt(config: SpeechConfig) -> SpeechToText:
    return OpenAiStt(
        config.stt_base_url,
        config.stt_api_key,
        config.stt_model,
        language=config.stt_language,
        timeout_s=config.http_timeout_s,
    )


def _piper(config: SpeechConfig) -> TextToSpeech:
    return PiperTts()


def _openai_tts(config: SpeechConfig) -> TextToSpeech:
    return OpenAiTts(
        config.tts_base_url,
        config.tts_api_key,
        config.tts_model,
        config.tts_voice,
        timeout_s=config.http_timeout_s,
    )


# The names are AgentSettings' VAD_PROVIDERS, STT_PROVIDERS and TTS_PROVIDERS (a test keeps them equal).
FACTORIES: dict[str, dict[str, Callable[[SpeechConfig], Any]]] = {
    "vad": {"silero": _silero},
    "stt": {"whisper": _whisper, "openai": _openai_stt},
    "tts": {"piper": _piper, "openai": _openai_tts},
}


class SpeechRegistry:
    """Builds each (kind, name) provider once; safe to call from worker threads (warm-up) and the loop."""

    def __init__(self, config: SpeechConfig) -> None:
        self.config = config
        self._built: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._locks: dict[tuple[str, str], threading.Lock] = {}

    def get(self, kind: str, name: str) -> Any:
        factories = FACTORIES[kind]
        if name not in factories:
            raise ProtocolError(f"unknown {kind} provider {name!r}; known: {', '.join(sorted(factories))}")
        # One lock per provider: the voice and the ears load at the same time, each exactly once.
        with self._lock:
            lock = self._locks.setdefault((kind, name), threading.Lock())
        with lock:
            if (kind, name) not in self._built:
                self._built[(kind, name)] = factories[name](self.config)
            return self._built[(kind, name)]

    def check_overrides(self, overrides: Mapping[str, str]) -> dict[str, str]:
        """The call's provider names; raises ProtocolError naming a bad key or provider, loading nothing."""
        chosen = {"vad": self.config.vad, "stt": self.config.stt, "tts": self.config.tts}
        for key, value in overrides.items():
            if key not in chosen:
                continue  # other keys belong to other parts (e.g. the brain)
            if value not in FACTORIES[key]:
                known = ", ".join(sorted(FACTORIES[key]))
                raise ProtocolError(f"provider_overrides[{key!r}]={value!r}: unknown; known: {known}")
            chosen[key] = value
        return chosen

    def stack(self, overrides: Mapping[str, str] | None = None) -> SpeechStack:
        names = self.check_overrides(overrides or {})
        return SpeechStack(
            self.get("vad", names["vad"]), self.get("stt", names["stt"]), self.get("tts", names["tts"])
        )
