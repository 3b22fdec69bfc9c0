"""Opens `conversation` calls with the process's speech providers and brain.

The composition root builds one ConversationCalls at start-up and hands it everything calls share.
Models load in a worker thread, on the first call that needs them or in `warm_up`, so the first call's
greeting waits for Piper (~0.3–0.4 s) while the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import dataclasses

from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.base import Brain
from agent_service.errors import ProtocolError
from agent_service.pipelines.base import BargeInOverride, CallInfo, CallPipeline, EndpointingOverride, Outlet
from agent_service.pipelines.conversation.config import ConversationConfig
from agent_service.pipelines.conversation.pipeline import ConversationPipeline
from agent_service.pipelines.conversation.resumption import CallHistories
from agent_service.speech.base import SpeechToText, TextToSpeech, Vad
from agent_service.speech.registry import SpeechRegistry
from agent_service.speech.turns import TurnPolicy


class ConversationCalls:
    def __init__(
        self, config: ConversationConfig, registry: SpeechRegistry, brain: Brain, histories: CallHistories
    ) -> None:
        self.config = config
        self.registry = registry
        self.brain = brain
        self.histories = histories

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

        turns = turn_policy(self.config.turns, info.barge_in, info.endpointing)
        config = dataclasses.replace(self.config, turns=turns)
        return ConversationPipeline(info, outlet, config, self.brain, voice, ears, self.histories)

    def warm_up(self) -> None:
        """Load the default voice, VAD and STT; blocking, for a worker thread."""
        config = self.registry.config
        for kind, name in (("tts", config.tts), ("vad", config.vad), ("stt", config.stt)):
            self.registry.get(kind, name)


def turn_policy(
    defaults: TurnPolicy, barge_in: BargeInOverride | None, endpointing: EndpointingOverride | None
) -> TurnPolicy:
    """The deployment's policy with this call's SessionStart overrides applied (a 0 keeps the default)."""
    policy = defaults
    if barge_in is not None:
        policy = dataclasses.replace(
            policy,
            barge_in=barge_in.enabled,
            barge_in_ms=barge_in.min_speech_ms or policy.barge_in_ms,
            protected_ms=barge_in.protected_ms,
        )
    if endpointing is not None:
        policy = dataclasses.replace(
            policy,
            hangover_ms=endpointing.silence_ms or policy.hangover_ms,
            min_speech_ms=endpointing.min_utterance_ms or policy.min_speech_ms,
            max_utterance_ms=endpointing.max_utterance_ms or policy.max_utterance_ms,
        )
    return policy


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
