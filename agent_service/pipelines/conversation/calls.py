"""Opens `conversation` calls with the process's speech providers and brain.

The composition root builds one ConversationCalls at start-up and hands it everything calls share.
Models load in a worker thread, on the first call that needs them or in `warm_up`, so the first call's
greeting waits for Piper (~0.3–0.4 s) while the event loop keeps serving. All calls share one STT queue
(STT_WORKERS decodes at once) and, when AGENT_END_OF_TURN=smart-turn, one end-of-turn model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.base import Brain
from agent_service.errors import ProtocolError
from agent_service.pipelines.base import BargeInOverride, CallInfo, CallPipeline, EndpointingOverride, Outlet
from agent_service.pipelines.conversation.config import ConversationConfig
from agent_service.pipelines.conversation.pipeline import ConversationPipeline
from agent_service.pipelines.conversation.resumption import CallHistories
from agent_service.speech.base import EndOfTurnModel, SpeechToText, TextToSpeech, Vad
from agent_service.speech.phrase_cache import PhraseCache
from agent_service.speech.registry import SpeechRegistry
from agent_service.speech.smart_turn import SmartTurn
from agent_service.speech.turns import TurnPolicy
from agent_service.speech.workers import WorkerQueue

REMOTE_WORKERS = 64  # a speech API's requests at once per process (the API has its own limits)


class ConversationCalls:
    def __init__(
        self, config: ConversationConfig, registry: SpeechRegistry, brain: Brain, histories: CallHistories
    ) -> None:
        self.config = config
        self.registry = registry
        self.brain = brain
        self.histories = histories
        self._queues: dict[tuple[str, str], WorkerQueue] = {}
        self.phrases = PhraseCache(config.tts_cache_sentences)  # what any call said, for all of them
        self._model: EndOfTurnModel | None = None
        self._model_lock = threading.Lock()

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

        async def judge() -> EndOfTurnModel:
            return await asyncio.to_thread(self.end_of_turn_model)

        turns = turn_policy(self.config.turns, info.barge_in, info.endpointing)
        config = dataclasses.replace(self.config, turns=turns)
        brain = self.brain
        if info.taught is not None:  # the knowledge version the gateway sent: its brain and greeting
            brain = info.taught.brain
            config = dataclasses.replace(config, greeting=info.taught.greeting)
        return ConversationPipeline(
            info,
            outlet,
            config,
            brain,
            voice,
            ears,
            self.histories,
            stt_queue=self.queue("stt", names["stt"]),
            tts_queue=self.queue("tts", names["tts"]),
            judge=judge,
            phrases=self.phrases,
        )

    def queue(self, kind: str, name: str) -> WorkerQueue:
        """The process's queue for one engine: the embedded ones share the cores (STT_WORKERS Whisper
        decodes, TTS_WORKERS Piper sentences at once), a remote API is not throttled."""
        key = (kind, name)
        if key not in self._queues:
            config = self.registry.config
            local = {("stt", "whisper"): config.stt_workers, ("tts", "piper"): config.tts_workers}
            self._queues[key] = WorkerQueue(local.get(key, REMOTE_WORKERS))
        return self._queues[key]

    def end_of_turn_model(self) -> EndOfTurnModel:
        """The end-of-turn model, loaded once per process; blocking."""
        with self._model_lock:
            if self._model is None:
                self._model = SmartTurn()
            return self._model

    def warm_up(self) -> None:
        """Load the default voice, VAD and STT (and the end-of-turn model if on); blocking, for a thread."""
        config = self.registry.config
        for kind, name in (("tts", config.tts), ("vad", config.vad), ("stt", config.stt)):
            self.registry.get(kind, name)
        if self.config.turns.end_of_turn_model and self.config.end_of_turn == "smart-turn":
            self.end_of_turn_model()


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
            # A call that names its silence gets exactly that: no model shortens or stretches it.
            end_of_turn_model=policy.end_of_turn_model and not endpointing.silence_ms,
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
