"""The caller's side of a conversation call: audio → VAD → turns, barge-in, DTMF and the silence timers.

Everything here runs on the media clock (the end of the latest caller frame), never on wall time, so a
call is replayed exactly by feeding it the same frames. What the agent says is `replies.Replies`' job.
When the caller pauses, the turn so far is transcribed speculatively and, with an end-of-turn model, the
model is asked whether it sounds finished; its answer sets how much more silence ends the turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics
from agent_service.brain.base import Brain
from agent_service.pipelines.base import CallInfo, Outlet
from agent_service.pipelines.conversation.config import ConversationConfig
from agent_service.pipelines.conversation.judging import Judge, Judging
from agent_service.pipelines.conversation.replies import Replies
from agent_service.pipelines.conversation.resumption import CallHistories
from agent_service.speech import call_io
from agent_service.speech.base import SpeechToText, TextToSpeech, Vad, VadStream
from agent_service.speech.call_io import UtteranceBuffer
from agent_service.speech.history import CallHistory
from agent_service.speech.phrase_cache import PhraseCache
from agent_service.speech.transcription import CallTranscriber
from agent_service.speech.turns import (
    BargeIn,
    Paused,
    SpeechResumed,
    SpeechStarted,
    TurnEvent,
    TurnTaker,
)
from agent_service.speech.workers import WorkerQueue
from agentlocator_common import telephone_audio

log = logging.getLogger(__name__)

Voice = Callable[[], Coroutine[Any, Any, TextToSpeech]]
Ears = Callable[[], Coroutine[Any, Any, tuple[Vad, SpeechToText]]]


class ConversationPipeline:
    def __init__(
        self,
        call: CallInfo,
        outlet: Outlet,
        config: ConversationConfig,
        brain: Brain,
        voice: Voice,
        ears: Ears,
        histories: CallHistories | None = None,
        *,
        stt_queue: WorkerQueue | None = None,
        tts_queue: WorkerQueue | None = None,
        judge: Judge | None = None,
        phrases: PhraseCache | None = None,
    ) -> None:
        self.call = call
        self.config = config
        self._outlet = outlet
        self._histories = histories
        history = CallHistory() if histories is None else histories.open(call.call_sid, resumed=call.resumed)
        if call.resumed:
            log.info("CALL_RESUMED call=%s turns_kept=%d", call.call_sid, len(history))
        self._replies = Replies(
            call, outlet, config, brain, history, lambda: self._now_ms, tts_queue, phrases
        )
        self._turns = TurnTaker(config.turns)
        self._vad: VadStream | None = None
        self._recent = UtteranceBuffer()
        self._now_ms = 0  # the media clock: end of the latest caller frame
        self._probability = 0.0
        self._last_activity_ms = 0
        self._silences = 0  # no-input timeouts since the caller last spoke
        self._dtmf = ""
        self._dtmf_at_ms = 0
        self._frames_before_ready = 0
        self._stt_queue = stt_queue or WorkerQueue(1)
        self._transcriber: CallTranscriber | None = None
        self._judging = Judging(call.call_sid, self._turns)
        self._ready_task = asyncio.get_running_loop().create_task(self._start(voice, ears, judge))

    # --- CallPipeline -------------------------------------------------------------------------------

    async def on_audio(self, audio_in: agent_pb2.AudioIn) -> None:
        pcm = telephone_audio.mulaw_decode(audio_in.audio)
        frame_ms = len(pcm) // 8
        self._now_ms = int(audio_in.media_timestamp_ms) + frame_ms
        if self._vad is None:
            if self._frames_before_ready == 0:
                log.info(
                    "SPEECH_NOT_READY call=%s: caller audio before the VAD loaded is not analysed",
                    self.call.call_sid,
                )
            self._frames_before_ready += 1
            return
        self._recent.append(int(audio_in.media_timestamp_ms), pcm)
        probability = self._vad.process(pcm)
        if probability is not None:
            self._probability = probability
        protected = self._now_ms - self._replies.speaking_since_ms < self.config.turns.protected_ms
        for event in self._turns.on_frame(
            int(audio_in.media_timestamp_ms),
            self._probability,
            agent_speaking=self.agent_speaking,
            interruptible=not protected,
        ):
            await self._on_turn_event(event)
        if not self._turns.user_speaking:
            self._recent.forget_before(self._now_ms)
        await self._check_timers()

    async def on_dtmf(self, digit: str) -> None:
        self._last_activity_ms = self._now_ms
        if digit == "#":
            await self._flush_dtmf()
            return
        self._dtmf += digit
        self._dtmf_at_ms = self._now_ms

    async def on_playback_mark(self, mark_id: str, played: bool) -> None:
        if await self._replies.on_mark(mark_id, played):
            self._last_activity_ms = self._now_ms

    async def finish(self) -> None:
        await self._replies.cancel()

    async def aclose(self) -> None:
        self._ready_task.cancel()
        await asyncio.gather(self._ready_task, return_exceptions=True)
        self._judging.stop()
        if self._transcriber is not None:
            self._transcriber.close()
        await self._replies.cancel()
        if self._histories is not None:
            self._histories.close(self.call.call_sid, self._replies.history)

    # --- state ----------------------------------------------------------------------------------------

    @property
    def history(self) -> CallHistory:
        return self._replies.history

    @property
    def errors(self) -> int:
        return self._replies.errors

    @property
    def actions(self) -> list[object]:
        return self._replies.actions

    @property
    def agent_speaking(self) -> bool:
        return self._replies.speaking

    @property
    def reply_task(self) -> asyncio.Task[None] | None:
        """The reply being prepared or sent, if any (tests pace their media clock on it)."""
        return self._replies.task

    @property
    def judging_task(self) -> asyncio.Task[None] | None:
        """The end-of-turn question in flight, if any (tests pace their media clock on it)."""
        return self._judging.pending

    async def _start(self, voice: Voice, ears: Ears, judge: Judge | None) -> None:
        # The voice first: the greeting plays while the (slower) ears load on the other core.
        loop = asyncio.get_running_loop()
        ears_task = loop.create_task(ears())
        try:
            self._replies.voice_ready(await voice())
            self._last_activity_ms = self._now_ms
            if not self.call.resumed:  # the caller heard the greeting on the stream that was lost
                self._replies.say(self.config.greeting)
            vad, stt = await ears_task
            self._transcriber = CallTranscriber(self._stt_queue, stt, speculate=self.config.speculative_stt)
            if judge is not None and self._asks_model("smart-turn"):
                await self._judging.load(judge)
        except BaseException as e:
            ears_task.cancel()
            if not isinstance(e, Exception):
                raise
            log.exception("SPEECH_LOAD_FAILED call=%s", self.call.call_sid)
            await self._outlet.send(
                agent_pb2.ConverseResponse(end_call=agent_pb2.EndCall(reason=f"speech models failed: {e}"))
            )
            return
        self._vad = vad.open_stream()
        if self._frames_before_ready:
            log.info(
                "SPEECH_READY call=%s frames_not_analysed=%d", self.call.call_sid, self._frames_before_ready
            )

    async def _on_turn_event(self, event: TurnEvent) -> None:
        if isinstance(event, Paused):
            self._on_pause(event)
            return
        if isinstance(event, SpeechResumed):
            self._judging.stop()
            if self._transcriber is not None:
                self._transcriber.drop()
            return
        self._last_activity_ms = self._now_ms
        if isinstance(event, SpeechStarted):
            self._silences = 0  # a later silence is asked about again, never taken for the last one
            await self._user_turn_event(agent_pb2.TURN_EVENT_KIND_USER_STARTED_SPEAKING, event.start_ms)
        elif isinstance(event, BargeIn):
            await self._replies.interrupt(event.at_ms, event.speech_ms)
        else:
            await self._user_turn_event(agent_pb2.TURN_EVENT_KIND_USER_STOPPED_SPEAKING, event.end_ms)
            utterance = self._recent.take(event.start_ms, event.end_ms)
            self._judging.stop()
            assert self._transcriber is not None  # the VAD, hence turns, starts only with the ears
            if event.during_agent_speech:
                self._transcriber.drop()
                log.info(
                    "SPEECH_BACKCHANNEL call=%s speech_ms=%d (not an interruption)",
                    self.call.call_sid,
                    event.speech_ms,
                )
                return
            metrics.END_OF_TURN.labels(event.decision).inc()
            earlier = self._replies.untranscribed  # a turn a barge-in cut short: heard together
            if earlier is None:
                transcription = self._transcriber.take(event.end_ms, utterance)
            else:
                utterance = np.concatenate([earlier, utterance])
                transcription = self._transcriber.take(-1, utterance)
            probability = self._judging.probability if event.decision in ("complete", "incomplete") else 0.0
            self._replies.answer_speech(
                utterance,
                transcription,
                hangover_ms=self._now_ms - event.end_ms,
                end_of_turn=event.decision,
                probability=probability,
            )

    def _on_pause(self, event: Paused) -> None:
        """The caller paused: guess the transcript, and ask the model whether they have finished."""
        audio = self._recent.peek(event.start_ms, self._now_ms)
        guess = None if self._transcriber is None else self._transcriber.speculate(event.end_ms, audio)
        if self._asks_model("text"):
            self._judging.ask_text(event, guess)
        elif self._asks_model("smart-turn"):
            self._judging.ask(event, audio)

    def _asks_model(self, kind: str) -> bool:
        # A call that names its endpointing silence asks no model (calls.turn_policy).
        return self.config.turns.end_of_turn_model and self.config.end_of_turn == kind

    async def _check_timers(self) -> None:
        if self._dtmf and self._now_ms - self._dtmf_at_ms >= self.config.dtmf_timeout_ms:
            await self._flush_dtmf()
        idle = self._now_ms - self._last_activity_ms
        if (
            self._replies.ending
            or self.agent_speaking
            or self._turns.user_speaking
            or idle < self.config.no_input_ms
        ):
            return
        self._last_activity_ms = self._now_ms
        self._silences += 1
        if self._silences == 1:
            self._replies.say(self.config.no_input_prompt)
        elif self._silences == 2:
            self._replies.say(self.config.no_input_offer)
        else:
            self._replies.ending = True
            self._replies.say(self.config.no_input_goodbye, end_reason="no input")

    async def _flush_dtmf(self) -> None:
        digits, self._dtmf = self._dtmf, ""
        if digits:
            await self._replies.answer_text(digits)

    async def _user_turn_event(self, kind: int, media_ms: int) -> None:
        await self._outlet.send(call_io.turn_event(kind, media_ms))
