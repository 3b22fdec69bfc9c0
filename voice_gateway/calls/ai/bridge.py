"""WS_MODE=AI: one Twilio Media Stream bridged to one `Converse` gRPC stream on the agent service.

This is the only module that holds both a WebSocket and a gRPC call. Per call: the WebSocket loop feeds
`on_event`; one task writes requests to the agent, one reads its responses, one releases audio to Twilio
on the playout clock (so a `clear` never waits behind audio), and one pings for round-trip time.
If the agent's stream dies mid-call it is reopened once (marked resumed); after that the call ends and
the `<Connect action>` answer apologises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import grpc
from agentlocator.agent.v1 import agent_pb2 as pb

from voice_gateway import metrics
from voice_gateway.agent_client import AgentClient
from voice_gateway.calls.ai.agent_requests import AgentRequests
from voice_gateway.calls.ai.playout import AudioFrame, PlaybackQueue
from voice_gateway.calls.modes import Send, StreamEvent
from voice_gateway.calls.registry import CallRegistry
from voice_gateway.twilio.media_streams import Dtmf, MarkEcho, Media, MediaStreamServer, Start, Stop

log = logging.getLogger("voice_gateway.bridge")

PROTOCOL_VERSION = 1
END_OF_CALL_MARK = "agentlocator-end-of-call"
Close = Callable[[int, str], Awaitable[None]]
Transfer = Callable[[str, str], Awaitable[None]]
SendWhatsApp = Callable[[str, str], Awaitable[str]]  # (to, text) -> our message id


class CallBridge:
    def __init__(
        self,
        stream: MediaStreamServer,
        send: Send,
        close: Close,
        link: AgentClient,
        registry: CallRegistry,
        transfer: Transfer | None = None,
        send_whatsapp: SendWhatsApp | None = None,
        lead_ms: int = 200,
        ping_interval_s: float = 5.0,
        end_call_timeout_s: float = 30.0,
        reconnect_timeout_s: float = 5.0,
    ) -> None:
        self._stream = stream
        self._send = send
        self._close = close
        self._link = link
        self._registry = registry
        self._transfer = transfer
        self._send_whatsapp = send_whatsapp
        self._ping_interval_s = ping_interval_s
        self._end_call_timeout_s = end_call_timeout_s
        self._reconnect_timeout_s = reconnect_timeout_s
        self.playback = PlaybackQueue(lead_ms)
        self._requests = AgentRequests()
        self._wake_player = asyncio.Event()
        # Whoever releases audio (the agent reader as it arrives, the player on the clock) holds this
        # while it sends, so frames keep their order and a clear never overtakes frames already taken.
        self._send_lock = asyncio.Lock()
        self._accepted = asyncio.Event()  # the agent admitted this stream: audio may flow
        self._end_played = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._call: grpc.aio.StreamStreamCall | None = None
        self._writer: asyncio.Task[None] | None = None
        self._session: pb.SessionStart | None = None
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
            played = self.playback.echo(event.name)
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
        self._session = pb.SessionStart(
            call_sid=start.call_sid,
            stream_sid=start.stream_sid,
            from_number=params.get("From", ""),
            to_number=params.get("To", ""),
            custom_parameters=dict(params),
            encoding=pb.AUDIO_ENCODING_MULAW_8K,
            sample_rate_hz=start.sample_rate,
            protocol_version=PROTOCOL_VERSION,
        )
        self._registry.started(
            start.call_sid, start.stream_sid, params.get("From", ""), hang_up=self.hang_up_by_operator
        )
        self._open(resumed=False)
        self._tasks += [
            asyncio.create_task(self._read_agent(), name="agent-reader"),
            asyncio.create_task(self._play(), name="playout"),
            asyncio.create_task(self._ping(), name="pinger"),
        ]
        log.info(
            "AI_CALL_START call=%s stream=%s agent=%s", start.call_sid, start.stream_sid, self._link.addr
        )

    def _open(self, resumed: bool) -> None:
        assert self._session is not None
        if self._writer is not None:
            self._writer.cancel()  # it hands back whatever request it held
        self._session.resumed = resumed
        self._accepted.clear()
        self._call = self._link.stub().Converse()
        self._writer = asyncio.create_task(self._write_agent(self._call, self._session), name="agent-writer")

    def _hang_up(self, reason: str) -> None:
        if not self._hung_up:
            self._hung_up = True
            self._hangup_reason = reason
            self._requests.put(pb.ConverseRequest(hangup=pb.Hangup(reason=reason)))
            self._requests.put(None)

    # -- to the agent ---------------------------------------------------------------------------------

    async def _write_agent(self, call: grpc.aio.StreamStreamCall, session: pb.SessionStart) -> None:
        held: pb.ConverseRequest | None = None
        holding = False
        try:
            await call.write(pb.ConverseRequest(session_start=session))
            # Audio waits in the queue until the agent admits the call; a write in flight when the
            # agent refuses would hide its status (RESOURCE_EXHAUSTED) behind a generic INTERNAL.
            await self._accepted.wait()
            while True:
                held, holding = await self._requests.next(), True
                if held is None:
                    await call.done_writing()
                    return
                await call.write(held)
                holding = False
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError, asyncio.CancelledError):
            # Hand the request back: a reopened stream sends it, so no caller audio is lost.
            if holding:
                self._requests.put_back(held)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self._ping_interval_s)
            ping = pb.Ping(client_timestamp_ms=_now_ms(), last_rtt_ms=self.rtt_ms or 0)
            self._requests.put(pb.ConverseRequest(ping=ping))

    # -- from the agent -------------------------------------------------------------------------------

    async def _read_agent(self) -> None:
        while True:
            assert self._call is not None
            try:
                async for response in self._call:
                    await self._on_response(response)
                return await self._agent_finished()
            except grpc.aio.AioRpcError as exc:
                if self._hung_up and exc.code() is grpc.StatusCode.CANCELLED:
                    return
                if not await self._recover(exc):
                    return

    async def _recover(self, exc: grpc.aio.AioRpcError) -> bool:
        call_sid = self._session.call_sid if self._session else "-"
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
        ok, detail = await self._link.ready(self._reconnect_timeout_s)
        if not ok:
            await self._fail(f"agent unavailable: {detail}")
            return False
        metrics.AGENT_STREAM_RESTARTS.inc()
        log.info("AGENT_STREAM_RESUMED call=%s", call_sid)
        self._open(resumed=True)
        return True

    async def _fail(self, reason: str) -> None:
        call_sid = self._session.call_sid if self._session else ""
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
        if kind == "session_accepted":
            self._accepted.set()
        elif kind == "audio_out":
            out = response.audio_out
            self.playback.add_audio(out.utterance_id, out.audio, out.final)
            await self._release()
        elif kind == "mark":
            self.playback.add_mark(response.mark.mark_id, response.mark.utterance_id)
            await self._release()
        elif kind == "clear_playback":
            await self._clear(response.clear_playback.up_to_utterance_id)
        elif kind == "end_call":
            log.info("AGENT_END_CALL call=%s reason=%s", self._session_sid(), response.end_call.reason)
            self._tasks.append(asyncio.create_task(self._end_after_playback(response.end_call.reason)))
        elif kind == "transfer":
            await self._transfer_call(response.transfer.number)
        elif kind == "send_whatsapp":
            # A provider may take seconds to answer; the call's audio must not wait for it.
            to = response.send_whatsapp.to or (self._session.from_number if self._session else "")
            self._tasks.append(asyncio.create_task(self._whatsapp(to, response.send_whatsapp.text)))
        elif kind == "metrics" and response.metrics.turn_latency_ms:
            m = response.metrics
            stages = {"endpointing": int(m.extra.get("hangover_ms", 0)), "stt": m.stt_ms}
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
        async with self._send_lock:
            twilio_busy, never_sent = self.playback.clear(time.monotonic(), up_to_utterance_id)
            if twilio_busy:
                await self._send(self._stream.clear())
        for mark_id in never_sent:
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
        self.playback.add_mark(END_OF_CALL_MARK, "")
        await self._release()
        try:
            await asyncio.wait_for(self._end_played.wait(), self._end_call_timeout_s)
        except TimeoutError:
            log.warning("END_CALL_TIMEOUT call=%s: the final mark never came back", self._session_sid())
        self._registry.ended(self._session_sid(), reason)
        self._hang_up(reason)
        await self._close(1000, "call ended by agent")

    async def _transfer_call(self, number: str) -> None:
        call_sid = self._session_sid()
        if self._transfer is None:
            log.error(
                "TRANSFER_UNAVAILABLE call=%s number=%s: TWILIO_ACCOUNT_SID is not set", call_sid, number
            )
            metrics.TRANSFERS.labels("unconfigured").inc()
            return
        try:
            await self._transfer(call_sid, number)
        except Exception as exc:  # the REST failure is reported; the call carries on with the agent
            metrics.TRANSFERS.labels("failed").inc()
            log.error("TRANSFER_FAILED call=%s number=%s error=%s", call_sid, number, exc)
            return
        metrics.TRANSFERS.labels("ok").inc()
        log.info("TRANSFERRED call=%s number=%s", call_sid, number)

    async def _whatsapp(self, to: str, text: str) -> None:
        call_sid = self._session_sid()
        if self._send_whatsapp is None or not to:
            metrics.CALL_WHATSAPP.labels("unavailable").inc()
            log.error("CALL_WHATSAPP_UNAVAILABLE call=%s to=%s", call_sid, to or "-")
            return
        try:
            message_id = await self._send_whatsapp(to, text)
        except Exception as exc:  # reported; the call goes on
            metrics.CALL_WHATSAPP.labels("failed").inc()
            log.error("CALL_WHATSAPP_FAILED call=%s to=%s error=%s", call_sid, to, exc)
            return
        metrics.CALL_WHATSAPP.labels("sent").inc()
        log.info("CALL_WHATSAPP_SENT call=%s to=%s id=%s", call_sid, to, message_id)

    # -- to Twilio ----------------------------------------------------------------------------------

    async def _release(self) -> None:
        """Send what Twilio may have now; whatever must wait is left for the player's clock."""
        async with self._send_lock:
            for item in self.playback.due(time.monotonic()):
                if isinstance(item, AudioFrame):
                    await self._send(self._stream.media(item.audio))
                else:
                    await self._send(self._stream.mark(item.mark_id))
        if self.playback.wait_s(time.monotonic()) is not None:
            self._wake_player.set()

    async def _play(self) -> None:
        while True:
            await self._release()
            wait = self.playback.wait_s(time.monotonic())
            self._wake_player.clear()
            if wait is None:
                await self._wake_player.wait()
            elif wait > 0:
                # Pacing against Twilio's playout clock: this timeout is the real-time schedule itself.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake_player.wait(), wait)

    def _session_sid(self) -> str:
        return self._session.call_sid if self._session else ""

    async def aclose(self) -> None:
        """End the agent's side cleanly: Hangup, half-close, and let the agent finish the stream."""
        self._hang_up("stream closed")
        for task in self._tasks:
            if task.get_name() != "agent-reader":
                task.cancel()
        pending = [
            t for t in (self._writer, *self._tasks) if t is not None and t.get_name().startswith("agent-")
        ]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        if self._call is not None:
            self._call.cancel()
        tasks = [*self._tasks, *([self._writer] if self._writer else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._registry.closed(self._session_sid(), self._hangup_reason or "stream closed")
        log.info(
            "AI_CALL_END call=%s to_agent=%d to_twilio=%d restarts=%d rtt_ms=%s",
            self._session_sid(),
            self.frames_to_agent,
            self.playback.frames_sent,
            self.restarts,
            self.rtt_ms,
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
