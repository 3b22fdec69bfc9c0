"""The caller's side of a conversation call: audio → VAD → turns, barge-in, DTMF and the silence timers.

Everything here runs on the media clock (the end of the latest caller frame), never on wall time, so a
call is replayed exactly by feeding it the same frames. What the agent says is `replies.Replies`' job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.base import Brain
from agent_service.pipelines.base import CallInfo, Outlet
from agent_service.pipelines.conversation.config import ConversationConfig
from agent_service.pipelines.conversation.replies import Replies
from agent_service.pipelines.conversation.resumption import CallHistories
from agent_service.speech import call_io
from agent_service.speech.base import SpeechToText, TextToSpeech, Vad, VadStream
from agent_service.speech.call_io import UtteranceBuffer
from agent_service.speech.history import CallHistory
from agent_service.speech.turns import BargeIn, SpeechEnded, SpeechStarted, TurnTaker
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
    ) -> None:
        self.call = call
        self.config = config
        self._outlet = outlet
        self._histories = histories
        history = CallHistory() if histories is None else histories.open(call.call_sid, resumed=call.resumed)
        if call.resumed:
            log.info("CALL_RESUMED call=%s turns_kept=%d", call.call_sid, len(history))
        self._replies = Replies(call, outlet, config, brain, history, lambda: self._now_ms)
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
        self._ready_task = asyncio.get_running_loop().create_task(self._start(voice, ears))

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

    async def _start(self, voice: Voice, ears: Ears) -> None:
        # The voice first: the greeting plays while the (slower) ears load on the other core.
        loop = asyncio.get_running_loop()
        ears_task = loop.create_task(ears())
        try:
            self._replies.voice_ready(await voice())
            self._last_activity_ms = self._now_ms
            if not self.call.resumed:  # the caller heard the greeting on the stream that was lost
                self._replies.say(self.config.greeting)
            vad, self._replies.stt = await ears_task
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

    async def _on_turn_event(self, event: SpeechStarted | BargeIn | SpeechEnded) -> None:
        self._last_activity_ms = self._now_ms
        if isinstance(event, SpeechStarted):
            self._silences = 0  # a later silence is asked about again, never taken for the last one
            await self._user_turn_event(agent_pb2.TURN_EVENT_KIND_USER_STARTED_SPEAKING, event.start_ms)
        elif isinstance(event, BargeIn):
            await self._replies.interrupt(event.at_ms, event.speech_ms)
        else:
            await self._user_turn_event(agent_pb2.TURN_EVENT_KIND_USER_STOPPED_SPEAKING, event.end_ms)
            utterance = self._recent.take(event.start_ms, event.end_ms)
            if event.during_agent_speech:
                log.info(
                    "SPEECH_BACKCHANNEL call=%s speech_ms=%d (not an interruption)",
                    self.call.call_sid,
                    event.speech_ms,
                )
                return
            self._replies.answer_speech(utterance, hangover_ms=self._now_ms - event.end_ms)

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
