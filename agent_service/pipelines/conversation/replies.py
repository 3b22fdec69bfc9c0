"""The agent's side of a conversation call: one reply at a time, and what the caller heard of it.

A reply is one cancellable task: transcribe the caller's utterance, stream the brain's answer cut into
sentences, speak each sentence as soon as it is complete, then carry out the brain's actions. Every
sentence is sent with a Mark, and the history keeps the reply as sent until a barge-in cuts it back to
what PLAYED marks and the playback clock say was heard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics as agent_metrics
from agent_service.brain.base import Brain
from agent_service.brain.events import Conversation, EndCall, Lookup, TakeMessage, TextDelta
from agent_service.pipelines.base import CallInfo, Outlet
from agent_service.pipelines.conversation.actions import action_response
from agent_service.pipelines.conversation.config import ConversationConfig
from agent_service.speech import call_io
from agent_service.speech.base import TextToSpeech
from agent_service.speech.call_io import TurnTimings
from agent_service.speech.heard import HeardTracker
from agent_service.speech.history import CallHistory
from agent_service.speech.phrase_cache import PhraseCache
from agent_service.speech.sentences import SentenceSplitter
from agent_service.speech.transcription import Transcription
from agent_service.speech.workers import Ticket, WorkerQueue
from agentlocator_common import telephone_audio

log = logging.getLogger(__name__)


class Replies:
    def __init__(
        self,
        call: CallInfo,
        outlet: Outlet,
        config: ConversationConfig,
        brain: Brain,
        history: CallHistory,
        now_ms: Callable[[], int],
        tts_queue: WorkerQueue | None = None,
        phrases: PhraseCache | None = None,
    ) -> None:
        self.call = call
        self.config = config
        self.history = history
        self.actions: list[object] = []  # carried-out or recorded actions, for logs and tests
        self.errors = 0
        self.ending = False  # a goodbye is under way: no more prompts
        self.heard = HeardTracker()
        self.speaking_since_ms = 0  # media time of the current reply's first audio (barge-in protection)
        self._outlet = outlet
        self._brain = brain
        self._now_ms = now_ms  # the caller's media clock, kept by the pipeline
        # Shared by the process's calls: an answer's first sentence goes before others' later ones.
        self._tts_queue = tts_queue or WorkerQueue(1)
        self._phrases = PhraseCache(0) if phrases is None else phrases  # said before: no synthesis
        # Awaited, not assumed: a resumed call has no greeting, so a DTMF reply may start before the voice.
        self._voice: asyncio.Future[TextToSpeech] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None
        self._utterance = 0
        self._unclear_turns = 0  # utterances in a row that gave no words
        # An utterance whose transcription a barge-in cancelled: prepended to the next one, never lost.
        self._untranscribed: telephone_audio.Pcm | None = None
        # The utterance the current reply answers, and its transcript until the reply's first audio goes
        # out: a caller who goes on before hearing the answer takes the turn back (see `interrupt`).
        self._answering: telephone_audio.Pcm | None = None
        self._user_line: tuple[str, str] | None = None

    def voice_ready(self, tts: TextToSpeech) -> None:
        self._voice.set_result(tts)

    @property
    def speaking(self) -> bool:
        """The agent is producing or playing a reply (thinking counts: the caller may talk over it)."""
        return (self._task is not None and not self._task.done()) or not self.heard.all_played

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The reply being prepared or sent, if any."""
        return self._task if self._task is not None and not self._task.done() else None

    # --- starting and stopping replies ----------------------------------------------------------------

    def say(self, text: str, *, end_reason: str = "") -> None:
        """Speak `text` as the next reply (greeting, prompts); with `end_reason`, end the call after it."""
        self._answering = None
        self._start(self._speak_only(text, timings=None, end_reason=end_reason))

    @property
    def untranscribed(self) -> telephone_audio.Pcm | None:
        """An utterance whose transcription a barge-in cancelled: the next one is heard together with it."""
        return self._untranscribed

    def answer_speech(
        self,
        utterance: telephone_audio.Pcm,
        transcription: Transcription,
        *,
        hangover_ms: int,
        end_of_turn: str = "",
        probability: float = 0.0,
    ) -> None:
        """Answer a user turn whose text `transcription` brings (it already includes `untranscribed`)."""
        self._untranscribed = None
        timings = TurnTimings(
            end_of_speech=time.monotonic(), end_of_turn=end_of_turn, probability=probability
        )
        self._start(self._answer(utterance, transcription, timings, hangover_ms=hangover_ms))

    async def answer_text(self, text: str) -> None:
        """Answer typed input (DTMF digits) at once, in place of whatever was being said."""
        await self.cancel()
        self._answering = None
        self._start(self._answer_text(text, TurnTimings(end_of_speech=time.monotonic()), hangover_ms=0))

    async def interrupt(self, at_ms: int, speech_ms: int) -> None:
        """Barge-in: stop talking now and keep in the history only what the caller heard. If they heard at
        most a word of the answer, they were not done: the turn is taken back, and what they said before
        is heard again together with what they say now (one transcript, one answer)."""
        heard = self.heard.heard_text(at_ms)
        retake = self._answering if len(heard.split()) <= 1 else None
        log.info(
            "SPEECH_BARGE_IN call=%s at_ms=%d speech_ms=%d heard=%r",
            self.call.call_sid,
            at_ms,
            speech_ms,
            heard,
        )
        await self._outlet.clear_playback()
        if retake is not None:
            self._user_line, heard = None, ""
        await self.cancel()
        self._answering = None
        self.history.cut_to_heard(heard)
        if retake is not None:
            log.info(
                "SPEECH_TAKEN_BACK call=%s: the caller went on; heard again with what follows",
                self.call.call_sid,
            )
            self.history.take_back_user()
            self._untranscribed = retake
        await self._transcript(agent_pb2.ROLE_AGENT, heard, "agent-heard")
        self.heard = HeardTracker()
        await self._turn_event(agent_pb2.TURN_EVENT_KIND_AGENT_STOPPED_SPEAKING, at_ms)

    async def on_mark(self, mark_id: str, played: bool) -> bool:
        """Record a playback mark; True when it was the end of the reply (everything sent was played)."""
        if played and self.heard.played(mark_id, self._now_ms()) and not self.speaking:
            await self._transcript(agent_pb2.ROLE_AGENT, self.heard.full_text, "agent-heard")
            await self._turn_event(agent_pb2.TURN_EVENT_KIND_AGENT_STOPPED_SPEAKING)
            return True
        return False

    async def cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._send_user_line()

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.heard = HeardTracker()
        self.history.new_reply()
        self._task = asyncio.get_running_loop().create_task(work)

    # --- the reply tasks ------------------------------------------------------------------------------

    async def _answer(
        self,
        utterance: telephone_audio.Pcm,
        transcription: Transcription,
        timings: TurnTimings,
        *,
        hangover_ms: int,
    ) -> None:
        self._untranscribed = utterance
        try:
            text = await transcription.text()
        except Exception:
            self._untranscribed = None
            await self._apologise("stt")
            return
        self._untranscribed, self._answering = None, utterance
        timings.stt_final = time.monotonic()
        timings.stt_queue_s, timings.speculative = transcription.ticket.waited_s, transcription.speculative
        if not text.strip():
            log.info("SPEECH_EMPTY_TRANSCRIPT call=%s samples=%d", self.call.call_sid, len(utterance))
            self._unclear_turns += 1
            once_more = self._unclear_turns == 1
            prompt = self.config.unclear_prompt if once_more else self.config.unclear_offer
            await self._speak_only(prompt, timings=None)
            return
        await self._answer_text(text, timings, hangover_ms=hangover_ms)

    async def _answer_text(self, text: str, timings: TurnTimings, *, hangover_ms: int) -> None:
        if not timings.stt_final:
            timings.stt_final = time.monotonic()
        self._utterance += 1
        self._unclear_turns = 0
        log.info("SPEECH_USER call=%s text=%r", self.call.call_sid, text)
        self._user_line = (text, f"user-{self._utterance}")
        self.history.add_user(text)
        conversation = Conversation(
            self.call.call_sid, self.history.as_tuple(), channel="voice", caller=self.call.from_number
        )
        splitter = SentenceSplitter(first_clause=True)  # a long first sentence in two: sooner heard
        after: list[object] = []
        try:
            async for event in self._brain.respond(conversation):
                if isinstance(event, TextDelta):
                    timings.brain_first_token = timings.brain_first_token or time.monotonic()
                    for sentence in splitter.push(event.text):
                        await self._say(sentence, timings)
                elif isinstance(event, Lookup):
                    continue
                elif isinstance(event, TakeMessage):
                    # Handed over before the answer is spoken: a caller who hangs up meanwhile loses nothing.
                    await self._carry_out(event)
                else:
                    after.append(event)
            for sentence in splitter.flush():
                await self._say(sentence, timings)
        except asyncio.CancelledError:
            raise
        except Exception:
            await self._send_user_line()
            await self._apologise("brain or tts")
            return
        await self._send_user_line()
        self.history.add_agent(self.heard.full_text)
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
        voice = await self._voice
        first = timings is None or not timings.first_tts_audio
        ticket = Ticket(final=first, since=timings.end_of_speech if timings else time.monotonic())
        synthesize = lambda: self._tts_queue.run(ticket, lambda: voice.synthesize(sentence))  # noqa: E731
        mulaw = await self._phrases.mulaw(voice.name, sentence, synthesize)
        if timings is not None:
            timings.first_tts_audio = timings.first_tts_audio or time.monotonic()
        if not mulaw:
            return
        self._utterance += 1
        utterance_id = f"agent-{self._utterance}"
        await self._send_user_line()  # the caller's words go out just before the answer to them
        if self.heard.all_played and not self.heard.full_text:
            self.speaking_since_ms = self._now_ms()
            await self._turn_event(agent_pb2.TURN_EVENT_KIND_AGENT_STARTED_SPEAKING)
        self.heard.sent(f"{utterance_id}-end", sentence, len(mulaw) // 8, self._now_ms())
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
            self.ending = True
        response = action_response(action, self.call.call_sid)
        if response is not None:
            await self._outlet.send(response)

    # --- outbound events ------------------------------------------------------------------------------

    async def _transcript(self, role: int, text: str, utterance_id: str, *, final: bool = True) -> None:
        # Agent sentences go out as sent (not final); the final agent transcript is what was heard.
        await self._outlet.send(call_io.transcript(role, text, utterance_id, final=final))

    async def _send_user_line(self) -> None:
        line, self._user_line = self._user_line, None
        if line is not None:
            await self._transcript(agent_pb2.ROLE_USER, *line)

    async def _turn_event(self, kind: int, media_ms: int | None = None) -> None:
        await self._outlet.send(call_io.turn_event(kind, self._now_ms() if media_ms is None else media_ms))

    async def _metrics(self, timings: TurnTimings, hangover_ms: int) -> None:
        metrics = timings.metrics(hangover_ms)
        agent_metrics.observe_turn(timings.stages(hangover_ms))
        log.info("SPEECH_TURN_METRICS call=%s %s", self.call.call_sid, str(metrics).replace("\n", " "))
        await self._outlet.send(agent_pb2.ConverseResponse(metrics=metrics))
