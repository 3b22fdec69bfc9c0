"""The `conversation` pipeline: the caller talks to the brain. VAD → STT → brain → TTS, with turn-taking
and barge-in on the media clock.

Per call: a TurnTaker turns VAD probabilities into turns; each user turn runs as one cancellable task
(STT, the brain's stream cut into sentences, TTS per sentence, audio out with a Mark per sentence), so the
first sentence plays while the rest is generated. A barge-in clears playback, cancels that task and keeps
in the history only what the caller heard (PLAYED marks and the playback clock; CLEARED marks never count).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics as agent_metrics
from agent_service.brain.base import Brain
from agent_service.brain.events import (
    Conversation,
    EndCall,
    Lookup,
    SendWhatsApp,
    TakeMessage,
    TextDelta,
    TransferCall,
)
from agent_service.pipelines.base import CallInfo, Outlet
from agent_service.speech import call_io
from agent_service.speech.base import SpeechToText, TextToSpeech, Vad, VadStream
from agent_service.speech.call_io import TurnTimings, UtteranceBuffer
from agent_service.speech.heard import HeardTracker
from agent_service.speech.history import CallHistory
from agent_service.speech.sentences import SentenceSplitter
from agent_service.speech.turns import BargeIn, SpeechEnded, SpeechStarted, TurnPolicy, TurnTaker
from agentlocator_common import telephone_audio

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConversationConfig:
    greeting: str = "Hello, how can I help you?"
    no_input_ms: int = 8000
    no_input_prompt: str = "Are you still there?"
    no_input_goodbye: str = "I haven't heard anything, so I'll end the call now. Goodbye!"
    apology: str = "Sorry, I had a problem there. Could you say that again?"
    dtmf_timeout_ms: int = 2000
    turns: TurnPolicy = field(default_factory=TurnPolicy)


class ConversationPipeline:
    def __init__(
        self,
        call: CallInfo,
        outlet: Outlet,
        config: ConversationConfig,
        brain: Brain,
        voice: Callable[[], Coroutine[Any, Any, TextToSpeech]],
        ears: Callable[[], Coroutine[Any, Any, tuple[Vad, SpeechToText]]],
    ) -> None:
        self.call = call
        self.config = config
        self.history = CallHistory()
        self.actions: list[object] = []  # carried-out or recorded actions, for logs and tests
        self.errors = 0
        self._outlet = outlet
        self._brain = brain
        self._turns = TurnTaker(config.turns)
        self._vad: VadStream | None = None
        self._stt: SpeechToText | None = None
        self._tts: TextToSpeech | None = None
        self._recent = UtteranceBuffer()
        self._now_ms = 0  # the media clock: end of the latest caller frame
        self._probability = 0.0
        self._reply: asyncio.Task[None] | None = None
        self._heard = HeardTracker()
        self._utterance = 0
        self._last_activity_ms = 0
        self._prompted = False
        self._ending = False
        self._dtmf = ""
        self._dtmf_at_ms = 0
        self._frames_before_ready = 0
        # An utterance whose transcription a barge-in cancelled: prepended to the next one, never lost.
        self._untranscribed: telephone_audio.Pcm | None = None
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
        for event in self._turns.on_frame(
            int(audio_in.media_timestamp_ms), self._probability, agent_speaking=self.agent_speaking
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
        if played and self._heard.played(mark_id, self._now_ms) and not self.agent_speaking:
            self._last_activity_ms = self._now_ms
            await self._transcript(agent_pb2.ROLE_AGENT, self._heard.full_text, "agent-heard")
            await self._turn_event(agent_pb2.TURN_EVENT_KIND_AGENT_STOPPED_SPEAKING)

    async def finish(self) -> None:
        await self._cancel_reply()

    async def aclose(self) -> None:
        self._ready_task.cancel()
        await asyncio.gather(self._ready_task, return_exceptions=True)
        await self._cancel_reply()

    # --- state ----------------------------------------------------------------------------------------

    @property
    def agent_speaking(self) -> bool:
        """The agent is producing or playing a reply (thinking counts: the caller may talk over it)."""
        return (self._reply is not None and not self._reply.done()) or not self._heard.all_played

    @property
    def reply_task(self) -> asyncio.Task[None] | None:
        """The reply being prepared or sent, if any (tests pace their media clock on it)."""
        return self._reply if self._reply is not None and not self._reply.done() else None

    async def _start(
        self,
        voice: Callable[[], Coroutine[Any, Any, TextToSpeech]],
        ears: Callable[[], Coroutine[Any, Any, tuple[Vad, SpeechToText]]],
    ) -> None:
        # The voice first: the greeting plays while the (slower) ears load on the other core.
        loop = asyncio.get_running_loop()
        ears_task = loop.create_task(ears())
        try:
            self._tts = await voice()
            self._last_activity_ms = self._now_ms
            self._start_reply(self._speak_only(self.config.greeting, timings=None))
            vad, self._stt = await ears_task
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
            await self._turn_event(agent_pb2.TURN_EVENT_KIND_USER_STARTED_SPEAKING, event.start_ms)
        elif isinstance(event, BargeIn):
            await self._barge_in(event)
        else:
            await self._turn_event(agent_pb2.TURN_EVENT_KIND_USER_STOPPED_SPEAKING, event.end_ms)
            utterance = self._recent.take(event.start_ms, event.end_ms)
            if self._untranscribed is not None and not event.during_agent_speech:
                utterance = np.concatenate([self._untranscribed, utterance])
            if event.during_agent_speech:
                log.info(
                    "SPEECH_BACKCHANNEL call=%s speech_ms=%d (not an interruption)",
                    self.call.call_sid,
                    event.speech_ms,
                )
                return
            timings = TurnTimings(end_of_speech=time.monotonic())
            self._start_reply(self._answer(utterance, timings, hangover_ms=self._now_ms - event.end_ms))

    async def _barge_in(self, event: BargeIn) -> None:
        heard = self._heard.heard_text(event.at_ms)
        log.info(
            "SPEECH_BARGE_IN call=%s at_ms=%d speech_ms=%d heard=%r",
            self.call.call_sid,
            event.at_ms,
            event.speech_ms,
            heard,
        )
        await self._outlet.clear_playback()
        await self._cancel_reply()
        self.history.cut_to_heard(heard)
        await self._transcript(agent_pb2.ROLE_AGENT, heard, "agent-heard")
        self._heard = HeardTracker()
        await self._turn_event(agent_pb2.TURN_EVENT_KIND_AGENT_STOPPED_SPEAKING, event.at_ms)

    async def _check_timers(self) -> None:
        if self._dtmf and self._now_ms - self._dtmf_at_ms >= self.config.dtmf_timeout_ms:
            await self._flush_dtmf()
        idle = self._now_ms - self._last_activity_ms
        if self._ending or self.agent_speaking or self._turns.user_speaking or idle < self.config.no_input_ms:
            return
        self._last_activity_ms = self._now_ms
        if not self._prompted:
            self._prompted = True
            self._start_reply(self._speak_only(self.config.no_input_prompt, timings=None))
        else:
            self._ending = True
            self._start_reply(
                self._speak_only(self.config.no_input_goodbye, timings=None, end_reason="no input")
            )

    async def _flush_dtmf(self) -> None:
        digits, self._dtmf = self._dtmf, ""
        if digits:
            await self._cancel_reply()
            self._start_reply(
                self._answer_text(digits, TurnTimings(end_of_speech=time.monotonic()), hangover_ms=0)
            )

    # --- replies -------------------------------------------------------------------------------------

    def _start_reply(self, work: Any) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()
        self._heard = HeardTracker()
        self.history.new_reply()
        self._reply = asyncio.get_running_loop().create_task(work)

    async def _cancel_reply(self) -> None:
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            reply.cancel()
            await asyncio.gather(reply, return_exceptions=True)

    async def _answer(
        self, utterance: telephone_audio.Pcm, timings: TurnTimings, *, hangover_ms: int
    ) -> None:
        assert self._stt is not None
        self._untranscribed = utterance
        try:
            text = await self._stt.transcribe(utterance, telephone_audio.TELEPHONE_RATE)
        except Exception:
            self._untranscribed = None
            await self._apologise("stt")
            return
        self._untranscribed = None
        timings.stt_final = time.monotonic()
        if not text.strip():
            log.info("SPEECH_EMPTY_TRANSCRIPT call=%s samples=%d", self.call.call_sid, len(utterance))
            return
        await self._answer_text(text, timings, hangover_ms=hangover_ms)

    async def _answer_text(self, text: str, timings: TurnTimings, *, hangover_ms: int) -> None:
        if not timings.stt_final:
            timings.stt_final = time.monotonic()
        self._utterance += 1
        log.info("SPEECH_USER call=%s text=%r", self.call.call_sid, text)
        await self._transcript(agent_pb2.ROLE_USER, text, f"user-{self._utterance}")
        self.history.add_user(text)
        conversation = Conversation(
            self.call.call_sid, self.history.as_tuple(), channel="voice", caller=self.call.from_number
        )
        splitter = SentenceSplitter()
        after: list[object] = []
        try:
            async for event in self._brain.respond(conversation):
                if isinstance(event, TextDelta):
                    timings.brain_first_token = timings.brain_first_token or time.monotonic()
                    for sentence in splitter.push(event.text):
                        await self._say(sentence, timings)
                elif isinstance(event, Lookup):
                    continue
                else:
                    after.append(event)
            for sentence in splitter.flush():
                await self._say(sentence, timings)
        except asyncio.CancelledError:
            raise
        except Exception:
            await self._apologise("brain or tts")
            return
        self.history.add_agent(self._heard.full_text)
        await self._metrics(timings, hangover_ms)
        for action in after:
            await self._carry_out(action)

    async def _speak_only(self, text: str, *, timings: TurnTimings | None, end_reason: str = "") -> None:
        try:
            await self._say(text, timings)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SPEECH_TTS_FAILED call=%s", self.call.call_sid)
            self.errors += 1
            if end_reason:
                await self._outlet.send(
                    agent_pb2.ConverseResponse(end_call=agent_pb2.EndCall(reason=end_reason))
                )
            return
        self.history.add_agent(text)
        if end_reason:
            await self._outlet.send(
                agent_pb2.ConverseResponse(end_call=agent_pb2.EndCall(reason=end_reason, goodbye_sent=True))
            )

    async def _say(self, sentence: str, timings: TurnTimings | None) -> None:
        assert self._tts is not None
        speech = await self._tts.synthesize(sentence)
        if timings is not None:
            timings.first_tts_audio = timings.first_tts_audio or time.monotonic()
        mulaw = telephone_audio.to_telephone(speech.pcm, speech.sample_rate)
        if not mulaw:
            return
        self._utterance += 1
        utterance_id = f"agent-{self._utterance}"
        if self._heard.all_played and not self._heard.full_text:
            await self._turn_event(agent_pb2.TURN_EVENT_KIND_AGENT_STARTED_SPEAKING)
        self._heard.sent(f"{utterance_id}-end", sentence, len(mulaw) // 8, self._now_ms)
        for response in call_io.audio_out(mulaw, utterance_id):
            await self._outlet.send(response)
            if timings is not None and not timings.first_frame_out:
                timings.first_frame_out = time.monotonic()
        await self._transcript(agent_pb2.ROLE_AGENT, sentence, utterance_id, final=False)

    async def _apologise(self, stage: str) -> None:
        self.errors += 1
        log.exception("SPEECH_STAGE_FAILED call=%s stage=%s", self.call.call_sid, stage)
        await self._speak_only(self.config.apology, timings=None)

    async def _carry_out(self, action: object) -> None:
        self.actions.append(action)
        if isinstance(action, EndCall):
            log.info("SPEECH_END_CALL call=%s reason=%s", self.call.call_sid, action.reason)
            self._ending = True
            end = agent_pb2.EndCall(reason=action.reason, goodbye_sent=True)
            await self._outlet.send(agent_pb2.ConverseResponse(end_call=end))
        elif isinstance(action, TransferCall):
            log.info("SPEECH_TRANSFER call=%s number=%s", self.call.call_sid, action.number)
            await self._outlet.send(
                agent_pb2.ConverseResponse(transfer=agent_pb2.Transfer(number=action.number))
            )
        elif isinstance(action, SendWhatsApp):
            # The gateway owns the WhatsApp providers; it sends to the caller when `to` is empty.
            log.info("SPEECH_SEND_WHATSAPP call=%s to=%s", self.call.call_sid, action.to or "caller")
            message = agent_pb2.SendWhatsApp(to=action.to, text=action.text)
            await self._outlet.send(agent_pb2.ConverseResponse(send_whatsapp=message))
        elif isinstance(action, TakeMessage):
            # The brain has stored the message already; the call only records that it happened.
            log.info("SPEECH_MESSAGE_TAKEN call=%s name=%s", self.call.call_sid, action.name)
            extra = {"take_message": 1.0}
            await self._outlet.send(agent_pb2.ConverseResponse(metrics=agent_pb2.Metrics(extra=extra)))

    # --- outbound events ------------------------------------------------------------------------------

    async def _transcript(self, role: int, text: str, utterance_id: str, *, final: bool = True) -> None:
        # Agent sentences go out as sent (not final); the final agent transcript is what was heard.
        await self._outlet.send(call_io.transcript(role, text, utterance_id, final=final))

    async def _turn_event(self, kind: int, media_ms: int | None = None) -> None:
        await self._outlet.send(call_io.turn_event(kind, self._now_ms if media_ms is None else media_ms))

    async def _metrics(self, timings: TurnTimings, hangover_ms: int) -> None:
        metrics = timings.metrics(hangover_ms)
        agent_metrics.observe_turn(timings.stages(hangover_ms))
        log.info("SPEECH_TURN_METRICS call=%s %s", self.call.call_sid, str(metrics).replace("\n", " "))
        await self._outlet.send(agent_pb2.ConverseResponse(metrics=metrics))
