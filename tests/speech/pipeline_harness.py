"""Drive a ConversationPipeline in-process the way the gateway would, with Twilio's playout modelled on
the media clock: every caller frame fed plays 20 ms of queued agent audio, marks report PLAYED when their
audio has played and CLEARED when a clear dropped them. No wall clock anywhere.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.registry import build_brain
from agent_service.knowledge import load_knowledge
from agent_service.pipelines.base import CallInfo
from agent_service.pipelines.conversation import ConversationConfig, ConversationPipeline
from agent_service.settings import AgentSettings
from agent_service.speech.base import EndOfTurnModel, SpeechToText, TextToSpeech, Vad
from agent_service.speech.phrase_cache import PhraseCache
from agentlocator_common import telephone_audio


@dataclass
class PlayoutOutlet:
    sent: list[agent_pb2.ConverseResponse] = field(default_factory=list)
    clears_at_frame: list[int] = field(default_factory=list)
    frames_fed: int = 0
    heard: bytearray = field(default_factory=bytearray)
    _queue: deque[bytes | str] = field(default_factory=deque)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def send(self, response: agent_pb2.ConverseResponse) -> None:
        kind = response.WhichOneof("event")
        if kind == "audio_out":
            self._queue.extend(telephone_audio.frames(response.audio_out.audio))
        elif kind == "mark":
            self._queue.append(response.mark.mark_id)
        async with self._changed:
            self.sent.append(response)
            self._changed.notify_all()

    async def clear_playback(self, up_to_utterance_id: str = "") -> None:
        self.clears_at_frame.append(self.frames_fed)
        await self.send(agent_pb2.ConverseResponse(clear_playback=agent_pb2.ClearPlayback()))

    async def until(self, predicate: Callable[[PlayoutOutlet], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    def of(self, kind: str) -> list[agent_pb2.ConverseResponse]:
        return [r for r in self.sent if r.WhichOneof("event") == kind]

    @property
    def queued_ms(self) -> int:
        return 20 * sum(isinstance(item, bytes) for item in self._queue)

    async def play_one_frame(self, pipeline: ConversationPipeline) -> None:
        """20 ms of Twilio playout: the next queued frame is heard, then any marks it reached echo."""
        if self._queue and isinstance(self._queue[0], bytes):
            frame = self._queue.popleft()
            assert isinstance(frame, bytes)
            self.heard.extend(frame)
        while self._queue and isinstance(self._queue[0], str):
            mark = self._queue.popleft()
            assert isinstance(mark, str)
            await pipeline.on_playback_mark(mark, played=True)

    async def flush_on_clear(self, pipeline: ConversationPipeline) -> None:
        pending = [item for item in self._queue if isinstance(item, str)]
        self._queue.clear()
        for mark in pending:
            await pipeline.on_playback_mark(mark, played=False)


class Caller:
    def __init__(self, pipeline: ConversationPipeline, outlet: PlayoutOutlet) -> None:
        self.pipeline = pipeline
        self.outlet = outlet
        self.media_ms = 0
        self._clears_seen = 0

    async def stream(self, wire: bytes) -> None:
        for frame in telephone_audio.frames(wire):
            await self.send_frame(frame)

    async def send_frame(self, frame: bytes) -> None:
        reply = self.pipeline.reply_task
        if reply is not None and not self.outlet.queued_ms:
            # The agent is thinking and nothing is playing: the next frame waits for its audio (or its
            # end), so the media clock does not race ahead of the models' wall-clock work.
            audible = asyncio.ensure_future(self.outlet.until(lambda o: o.queued_ms > 0))
            await asyncio.wait({audible, reply}, return_when=asyncio.FIRST_COMPLETED)
            audible.cancel()
        await self.outlet.play_one_frame(self.pipeline)
        self.outlet.frames_fed += 1
        audio_in = agent_pb2.AudioIn(
            audio=frame, seq=self.outlet.frames_fed, media_timestamp_ms=self.media_ms
        )
        self.media_ms += 20
        await self.pipeline.on_audio(audio_in)
        # Let the pipeline's reply task run between frames, as the event loop does between network reads.
        await asyncio.sleep(0)
        if len(self.outlet.clears_at_frame) > self._clears_seen:
            self._clears_seen = len(self.outlet.clears_at_frame)
            await self.outlet.flush_on_clear(self.pipeline)


def call_info() -> CallInfo:
    return CallInfo(
        call_sid="CAtest",
        stream_sid="MZtest",
        encoding=agent_pb2.AUDIO_ENCODING_MULAW_8K,
        sample_rate_hz=8000,
        from_number="+15005550006",
    )


def open_pipeline(
    outlet: PlayoutOutlet,
    vad: Vad,
    stt: SpeechToText,
    tts: TextToSpeech,
    config: ConversationConfig,
    judge: EndOfTurnModel | None = None,
    phrases: PhraseCache | None = None,
) -> ConversationPipeline:
    async def voice() -> TextToSpeech:
        return tts

    async def ears() -> tuple[Vad, SpeechToText]:
        return vad, stt

    async def judging() -> EndOfTurnModel:
        if judge is None:
            raise RuntimeError("no end-of-turn model in this test")
        return judge

    settings = AgentSettings.from_env({})
    brain = build_brain(settings, load_knowledge(settings.knowledge_file))
    return ConversationPipeline(
        call_info(), outlet, config, brain, voice, ears, judge=judging, phrases=phrases
    )
