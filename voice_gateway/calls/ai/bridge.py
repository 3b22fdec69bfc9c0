"""WS_MODE=AI: one Twilio Media Stream bridged to one `Converse` gRPC stream on the agent service.

This is the only module that holds both a WebSocket and a gRPC call. Per call, under one task group:
the WebSocket loop feeds `on_event`; the agent stream's writer sends requests; one task reads the
agent's responses; one releases audio to Twilio on the playout clock (so a `clear` never waits behind
audio); one pings for round-trip time; and whatever the agent asks for that may take a while (ending
after the goodbye plays, a WhatsApp) runs beside them. If the agent's stream dies mid-call it is
reopened once (marked resumed); after that the call ends and the `<Connect action>` answer apologises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import grpc
from agentlocator.agent.v1 import agent_pb2 as pb

from voice_gateway import metrics
from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.agent_requests import AgentRequests
from voice_gateway.calls.ai.agent_stream import AgentStream
from voice_gateway.calls.ai.call_actions import CallActions, KeepMessage, SendWhatsApp, Transfer
from voice_gateway.calls.ai.speaker import Speaker
from voice_gateway.calls.modes import CHANNEL_PARAMETER, Send, StreamEvent
from voice_gateway.calls.registry import CallRegistry
from voice_gateway.twilio.media_streams import Dtmf, MarkEcho, Media, MediaStreamServer, Start, Stop

log = logging.getLogger("voice_gateway.bridge")

PROTOCOL_VERSION = 1
END_OF_CALL_MARK = "agentlocator-end-of-call"
# How long a closing call waits for the agent to finish its side after the Hangup.
AGENT_GOODBYE_S = 2.0
Close = Callable[[int, str], Awaitable[None]]


class CallBridge:
    def __init__(
        self,
        stream: MediaStreamServer,
        send: Send,
        close: Close,
        agent: AgentClient,
        registry: CallRegistry,
        transfer: Transfer | None = None,
        send_whatsapp: SendWhatsApp | None = None,
        keep_message: KeepMessage | None = None,
        lead_ms: int = 200,
        ping_interval_s: float = 5.0,
        end_call_timeout_s: float = 30.0,
        reconnect_timeout_s: float = 5.0,
    ) -> None:
        self._close = close
        self._agent = agent
        self._registry = registry
        self._actions = CallActions(transfer, send_whatsapp, keep_message)
        self._ping_interval_s = ping_interval_s
        self._end_call_timeout_s = end_call_timeout_s
        self._reconnect_timeout_s = reconnect_timeout_s
        self.speaker = Speaker(stream, send, lead_ms)
        self._requests = AgentRequests()
        self._end_played = asyncio.Event()
        self._agent_stream: AgentStream | None = None
        self._group: asyncio.TaskGroup | None = None
        self._running: asyncio.Task[None] | None = None  # the task that owns the task group
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._timers: list[asyncio.Task[None]] = []  # the player and the pinger: stopped first on close
        self._hung_up = False
        self._hangup_reason = ""
        self._ending = False
        self.restarts = 0
        self.frames_to_agent = 0
        self.rtt_ms: int | None = None

    # -- from the WebSocket ------------------------------------------------------------------------

    async def on_event(self, event: StreamEvent) -> None:
        if isinstance(event, Media):
            self.frames_to_agent += 1
            audio = pb.AudioIn(
                audio=event.payload, seq=event.sequence_number, media_timestamp_ms=event.timestamp_ms
            )
            self._requests.put(pb.ConverseRequest(audio_in=audio))
        elif isinstance(event, MarkEcho):
            played = self.speaker.playback.echo(event.name)
            if event.name == END_OF_CALL_MARK:
                self._end_played.set()
                return
            status = pb.MARK_STATUS_PLAYED if played else pb.MARK_STATUS_CLEARED
            mark = pb.PlaybackMark(mark_id=event.name, status=status)
            self._requests.put(pb.ConverseRequest(playback_mark=mark))
        elif isinstance(event, Dtmf):
            self._requests.put(pb.ConverseRequest(dtmf=pb.Dtmf(digit=event.digit)))
        elif isinstance(event, Start):
            await self._begin(event)
        elif isinstance(event, Stop):
            self._hang_up("caller hung up")

    async def _begin(self, start: Start) -> None:
        params = start.custom_parameters
        session = pb.SessionStart(
            call_sid=start.call_sid,
            stream_sid=start.stream_sid,
            from_number=params.get("From", ""),
            to_number=params.get("To", ""),
            custom_parameters=dict(params),
            encoding=pb.AUDIO_ENCODING_MULAW_8K,
            sample_rate_hz=start.sample_rate,
            protocol_version=PROTOCOL_VERSION,
        )
        if (knowledge := await self._agent.knowledge_version()) is not None:  # the console's newest
            session.knowledge.CopyFrom(knowledge)
        self._agent_stream = AgentStream(self._agent, session, self._requests)
        self._registry.started(
            start.call_sid,
            start.stream_sid,
            params.get("From", ""),
            hang_up=self.hang_up_by_operator,
            channel=params.get(CHANNEL_PARAMETER, "phone"),
        )
        started = asyncio.Event()
        self._running = asyncio.create_task(self._run(started), name="ai-call")
        await started.wait()  # the group exists before the next event can need it
        log.info(
            "AI_CALL_START call=%s stream=%s agent=%s", start.call_sid, start.stream_sid, self._agent.addr
        )

    async def _run(self, started: asyncio.Event) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._open(resumed=False)
                self._reader = group.create_task(self._read_agent())
                self._timers = [group.create_task(self.speaker.play()), group.create_task(self._ping())]
                started.set()
        except Exception as exc:  # a bug in one part: the whole call ends, and says why
            log.exception("AI_CALL_CRASHED call=%s", self._session_sid())
            await self._fail(f"gateway error: {exc!r}")
        finally:
            started.set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the call; the group cancels it when the call ends and forgets it when done."""
        try:
            if self._group is None:
                raise RuntimeError("the call has not started")
            self._group.create_task(work)
        except RuntimeError:  # the call is ending: the group takes no new work
            work.close()

    def _open(self, resumed: bool) -> None:
        assert self._agent_stream is not None and self._group is not None
        if self._writer is not None:
            self._writer.cancel()  # it hands back whatever request it held
        self._agent_stream.open(resumed)
        self._writer = self._group.create_task(self._agent_stream.write())

    def _hang_up(self, reason: str) -> None:
        if not self._hung_up:
            self._hung_up = True
            self._hangup_reason = reason
            self._requests.put(pb.ConverseRequest(hangup=pb.Hangup(reason=reason)))
            self._requests.put(None)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self._ping_interval_s)
            ping = pb.Ping(client_timestamp_ms=_now_ms(), last_rtt_ms=self.rtt_ms or 0)
            self._requests.put(pb.ConverseRequest(ping=ping))

    # -- from the agent -------------------------------------------------------------------------------

    async def _read_agent(self) -> None:
        assert self._agent_stream is not None
        while True:
            try:
                async for response in self._agent_stream.responses():
                    await self._on_response(response)
                return await self._agent_finished()
            except grpc.aio.AioRpcError as exc:
                if self._hung_up and exc.code() is grpc.StatusCode.CANCELLED:
                    return
                if not await self._recover(exc):
                    return

    async def _recover(self, exc: grpc.aio.AioRpcError) -> bool:
        call_sid = self._session_sid() or "-"
        metrics.AGENT_STREAM_FAILURES.labels(exc.code().name).inc()
        log.warning("AGENT_STREAM_LOST call=%s code=%s details=%s", call_sid, exc.code().name, exc.details())
        if exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
            await self._fail(f"agent refused the call: {exc.details()}")
            return False
        if self.restarts >= 1 or self._hung_up:
            await self._fail(f"agent stream lost twice ({exc.code().name})")
            return False
        self.restarts += 1
        # A restarting agent (a deploy, a crash under a supervisor) needs a moment to listen again.
        ok, detail = await self._agent.ready(self._reconnect_timeout_s)
        if not ok:
            await self._fail(f"agent unavailable: {detail}")
            return False
        metrics.AGENT_STREAM_RESTARTS.inc()
        log.info("AGENT_STREAM_RESUMED call=%s", call_sid)
        self._open(resumed=True)
        return True

    async def _fail(self, reason: str) -> None:
        call_sid = self._session_sid()
        self._registry.failed(call_sid, reason)
        metrics.CALLS.labels("agent_failed").inc()
        log.error("AI_CALL_FAILED call=%s reason=%s", call_sid, reason)
        # Closing the stream makes Twilio fetch the <Connect action>, which apologises and hangs up.
        await self._close(1000, "agent unavailable")

    async def _agent_finished(self) -> None:
        # The agent closed the stream cleanly: let what it said play out, then end the call.
        if not self._hung_up and not self._ending:
            await self._end_after_playback("agent ended the conversation")

    async def _on_response(self, response: pb.ConverseResponse) -> None:
        kind = response.WhichOneof("event")
        if kind == "audio_out":
            out = response.audio_out
            await self.speaker.audio(out.utterance_id, out.audio, out.final)
        elif kind == "mark":
            await self.speaker.mark(response.mark.mark_id, response.mark.utterance_id)
        elif kind == "clear_playback":
            await self._clear(response.clear_playback.up_to_utterance_id)
        elif kind == "end_call":
            log.info("AGENT_END_CALL call=%s reason=%s", self._session_sid(), response.end_call.reason)
            self._spawn(self._end_after_playback(response.end_call.reason))
        elif kind == "transfer":
            await self._actions.transfer(self._session_sid(), response.transfer.number)
        elif kind == "send_whatsapp":
            # A provider may take seconds to answer; the call's audio must not wait for it.
            to = response.send_whatsapp.to or self._caller()
            self._spawn(self._actions.whatsapp(self._session_sid(), to, response.send_whatsapp.text))
        elif kind == "taken_message":  # stored beside the audio, acknowledged to the agent once committed
            self._spawn(
                self._actions.keep_message(self._session_sid(), response.taken_message, self._requests.put)
            )
        elif kind == "metrics" and response.metrics.turn_latency_ms:
            m = response.metrics
            stages = {"endpointing": m.endpointing_ms, "stt": m.stt_ms}
            stages |= {"llm": m.llm_first_token_ms, "tts": m.tts_first_audio_ms, "total": m.turn_latency_ms}
            self._registry.turn_latency(self._session_sid(), stages)
        elif kind == "pong":
            self.rtt_ms = max(0, _now_ms() - response.pong.client_timestamp_ms)
            metrics.AGENT_RTT.observe(self.rtt_ms / 1000)
        elif kind == "transcript":
            role = pb.Role.Name(response.transcript.role).removeprefix("ROLE_").lower()
            self._registry.transcript(
                self._session_sid(), role, response.transcript.text, response.transcript.is_final
            )

    async def _clear(self, up_to_utterance_id: str) -> None:
        for mark_id in await self.speaker.clear(up_to_utterance_id):
            mark = pb.PlaybackMark(mark_id=mark_id, status=pb.MARK_STATUS_CLEARED)
            self._requests.put(pb.ConverseRequest(playback_mark=mark))

    async def hang_up_by_operator(self) -> None:
        """The console's hang-up: tell the agent, then close the stream, which ends Twilio's <Connect>."""
        reason = "hung up by operator"
        log.info("OPERATOR_HANGUP call=%s", self._session_sid())
        self._registry.ended(self._session_sid(), reason)
        self._hang_up(reason)
        await self._close(1000, "call ended by operator")

    async def _end_after_playback(self, reason: str) -> None:
        self._ending = True
        await self.speaker.mark(END_OF_CALL_MARK, "")
        try:
            await asyncio.wait_for(self._end_played.wait(), self._end_call_timeout_s)
        except TimeoutError:
            log.warning("END_CALL_TIMEOUT call=%s: the final mark never came back", self._session_sid())
        self._registry.ended(self._session_sid(), reason)
        self._hang_up(reason)
        await self._close(1000, "call ended by agent")

    def _session_sid(self) -> str:
        return self._agent_stream.session.call_sid if self._agent_stream else ""

    def _caller(self) -> str:
        return self._agent_stream.session.from_number if self._agent_stream else ""

    async def aclose(self) -> None:
        """End the agent's side cleanly: Hangup, half-close, and let the agent finish the stream."""
        self._hang_up("stream closed")
        for timer in self._timers:
            timer.cancel()
        agent_side = [t for t in (self._reader, self._writer) if t is not None]
        if agent_side:
            await asyncio.wait(agent_side, timeout=AGENT_GOODBYE_S)
        if self._agent_stream is not None:
            self._agent_stream.cancel()
        if self._running is not None:
            self._running.cancel()  # the group cancels whatever still runs, and waits for it
            await asyncio.gather(self._running, return_exceptions=True)
        await self._registry.closed(self._session_sid(), self._hangup_reason or "stream closed")
        log.info(
            "AI_CALL_END call=%s to_agent=%d to_twilio=%d restarts=%d rtt_ms=%s",
            self._session_sid(),
            self.frames_to_agent,
            self.speaker.playback.frames_sent,
            self.restarts,
            self.rtt_ms,
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
