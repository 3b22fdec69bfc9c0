"""Wiring for the `conversation` pipeline: settings → speech providers and brain, once per process.

The pipeline registry only hands `open_call` a CallInfo, an Outlet and PipelineOptions, so the
process-wide parts (models, brain) are built here on the first call, from AgentSettings. Models load in a
worker thread, so the first call's greeting waits for Piper (~0.3–0.4 s) while the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.base import Brain
from agent_service.errors import ProtocolError
from agent_service.pipelines.base import CallInfo, CallPipeline, Outlet, PipelineOptions
from agent_service.pipelines.conversation import ConversationConfig, ConversationPipeline
from agent_service.speech.base import SpeechToText, TextToSpeech, Vad
from agent_service.speech.registry import SpeechConfig, SpeechRegistry
from agent_service.speech.turns import TurnPolicy

if TYPE_CHECKING:
    from agent_service.settings import AgentSettings


class SpeechRuntime:
    def __init__(self, config: ConversationConfig, registry: SpeechRegistry, brain: Brain) -> None:
        self.config = config
        self.registry = registry
        self.brain = brain

    def open_call(self, info: CallInfo, outlet: Outlet) -> CallPipeline:
        if info.encoding != agent_pb2.AUDIO_ENCODING_MULAW_8K:
            return RejectedCall("the conversation pipeline takes AUDIO_ENCODING_MULAW_8K audio only")
        try:
            names = self.registry.check_overrides(info.provider_overrides)
        except ProtocolError as e:
            return RejectedCall(e.message)

        async def voice() -> TextToSpeech:
            tts: TextToSpeech = await asyncio.to_thread(self.registry.get, "tts", names["tts"])
            return tts

        async def ears() -> tuple[Vad, SpeechToText]:
            vad: Vad = await asyncio.to_thread(self.registry.get, "vad", names["vad"])
            stt: SpeechToText = await asyncio.to_thread(self.registry.get, "stt", names["stt"])
            return vad, stt

        return ConversationPipeline(info, outlet, self.config, self.brain, voice, ears)


class RejectedCall:
    """A call whose SessionStart this pipeline cannot serve. The error is raised on the first event, inside
    the call's read loop, so the stream ends with INVALID_ARGUMENT and this message (raising while the
    call is being set up would surface as an unknown error)."""

    def __init__(self, message: str) -> None:
        self.message = message

    async def on_audio(self, audio_in: agent_pb2.AudioIn) -> None:
        raise ProtocolError(self.message)

    async def on_dtmf(self, digit: str) -> None:
        raise ProtocolError(self.message)

    async def on_playback_mark(self, mark_id: str, played: bool) -> None:
        raise ProtocolError(self.message)

    async def finish(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


_runtime: SpeechRuntime | None = None
_lock = threading.Lock()
_registry: SpeechRegistry | None = None
_registry_lock = threading.Lock()


def shared_registry(settings: AgentSettings) -> SpeechRegistry:
    """The process's speech providers: calls and the Synthesize RPC share one loaded voice."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = SpeechRegistry(SpeechConfig.from_settings(settings))
        return _registry


def call_greeting(settings: AgentSettings) -> str:
    """What a call hears first: AGENT_GREETING, else the knowledge file's greeting."""
    from agent_service.knowledge import load_knowledge

    return settings.greeting or load_knowledge(settings.knowledge_file).greeting


def from_settings() -> SpeechRuntime:
    from agent_service.brain.registry import build_brain
    from agent_service.settings import AgentSettings as Settings

    settings = Settings.from_env()
    greeting = call_greeting(settings)
    turns = TurnPolicy(
        speech_threshold=settings.vad_threshold,
        silence_threshold=max(0.0, settings.vad_threshold - 0.15),
        min_speech_ms=settings.min_speech_ms,
        hangover_ms=settings.hangover_ms,
        barge_in_ms=settings.barge_in_ms,
    )
    config = ConversationConfig(greeting=greeting, no_input_ms=round(settings.no_input_s * 1000), turns=turns)
    return SpeechRuntime(config, shared_registry(settings), build_brain(settings))


def _shared_runtime() -> SpeechRuntime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = from_settings()
        return _runtime


def open_call(info: CallInfo, outlet: Outlet, options: PipelineOptions) -> CallPipeline:
    """The registry's entry point: one process-wide runtime, built on the first call (or by warm_up)."""
    del options
    return _shared_runtime().open_call(info, outlet)


def warm_up() -> None:
    """Build the runtime (brain included) and load the default voice, VAD and STT; blocking, for a thread."""
    runtime = _shared_runtime()
    config = runtime.registry.config
    for kind, name in (("tts", config.tts), ("vad", config.vad), ("stt", config.stt)):
        runtime.registry.get(kind, name)
