"""One live Converse stream: a single reader task, a single writer, and a metrics ticker.

The reader feeds the pipeline in arrival order and answers pings through the control lane; the writer is
the only coroutine that calls `context.write`. grpc.aio allows one outstanding read and one outstanding
write per call (gRFC L58), which this shape satisfies by construction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import grpc
from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics
from agent_service.errors import AgentError, ProtocolError
from agent_service.outbox import Outbox
from agent_service.pipelines.base import CallInfo, CallPipeline, PipelineSpec
from agent_service.taken_messages import UnackedMessages, completed

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1


class Call:
    def __init__(
        self,
        info: CallInfo,
        context: Any,  # grpc.aio.ServicerContext; grpc ships no type stubs
        spec: PipelineSpec,
        metrics_interval_s: float,
        unacked: UnackedMessages | None = None,
    ) -> None:
        self.info = info
        self._unacked = unacked or UnackedMessages(max_ended=0)
        self.outbox = Outbox()
        self.in_frames = 0
        # 20 ms of caller audio, in bytes: an AudioIn may carry several frames (see AudioIn in the proto).
        linear16 = info.encoding == agent_pb2.AUDIO_ENCODING_LINEAR16
        self._frame_bytes = info.sample_rate_hz * 2 // 50 if linear16 else 160
        self.out_frames = 0
        self.rtt_ms = 0
        self.end_reason = "unknown"
        self._context = context
        self._metrics_interval_s = metrics_interval_s
        self._error: AgentError | None = None
        self._pipeline: CallPipeline = spec.open_call(info, self)
        self._pipeline_name = spec.name

    async def run(self) -> None:
        """Run until the client hangs up, the server ends the call, or an error; raise AgentError on error."""
        # Messages an earlier stream of this call took and the gateway never acknowledged go again first.
        for message in self._unacked.opened(self.info.call_sid):
            await self.outbox.put_control(agent_pb2.ConverseResponse(taken_message=message))
        helpers = [asyncio.create_task(self._read_loop(), name=f"read {self.info.call_sid}")]
        if self._metrics_interval_s > 0:
            helpers.append(asyncio.create_task(self._tick(), name=f"metrics {self.info.call_sid}"))
        try:
            await self._write_loop()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._pipeline.aclose()
            self._unacked.closed(self.info.call_sid)
        if self._error is not None:
            raise self._error

    async def send(self, response: agent_pb2.ConverseResponse) -> None:
        """The pipeline's Outlet. EndCall closes the call after the audio queued before it (the goodbye)."""
        kind = response.WhichOneof("event")
        if kind == "end_call":
            if not self.outbox.closed:
                self.end_reason = f"agent ended the call ({response.end_call.reason})"
            await self.outbox.close(response, discard_media=False)
        elif kind == "taken_message":
            # Held until acknowledged, and sent ahead of the audio: it must not wait behind the reply.
            info = self.info
            completed(
                response.taken_message,
                channel=agent_pb2.CHANNEL_VOICE,
                conversation_id=info.call_sid,
                caller=info.from_number,
            )
            self._unacked.taken(info.call_sid, response.taken_message)
            await self.outbox.put_control(response)
        elif kind in ("clear_playback", "metrics"):
            await self.outbox.put_control(response)
        else:
            await self.outbox.put_media(response)

    async def clear_playback(self, up_to_utterance_id: str = "") -> None:
        await self.outbox.clear_media()
        clear = agent_pb2.ClearPlayback(up_to_utterance_id=up_to_utterance_id)
        await self.outbox.put_control(agent_pb2.ConverseResponse(clear_playback=clear))

    async def end(self, reason: str) -> None:
        """End the call from the server side: queued audio is dropped, EndCall is the last message."""
        if self.outbox.closed:
            return
        self.end_reason = reason
        end_call = agent_pb2.ConverseResponse(end_call=agent_pb2.EndCall(reason=reason))
        await self.outbox.close(end_call, discard_media=True)

    async def _write_loop(self) -> None:
        accepted = agent_pb2.SessionAccepted(protocol_version=PROTOCOL_VERSION, pipeline=self._pipeline_name)
        await self._context.write(agent_pb2.ConverseResponse(session_accepted=accepted))
        while (response := await self.outbox.get()) is not None:
            if response.WhichOneof("event") == "audio_out":
                self.out_frames += 1
                metrics.FRAMES_OUT.inc()
            await self._context.write(response)

    async def _read_loop(self) -> None:
        try:
            while True:
                try:
                    request = await self._context.read()
                except Exception:
                    if not self._context.cancelled():
                        raise
                    request = grpc.aio.EOF
                if request is grpc.aio.EOF:
                    # A cancelled RPC can surface here as EOF or a read error before grpc marks it
                    # cancelled; the servicer checks again when it logs the end of the call.
                    cancelled = self._context.cancelled()
                    await self._finish(
                        "cancelled by client or server" if cancelled else "client closed stream"
                    )
                    return
                if not await self._handle(request):
                    return
        except AgentError as e:
            await self._fail(e)
        except Exception as e:
            log.exception("pipeline failed call=%s", self.info.call_sid)
            await self._fail(AgentError(f"pipeline failed: {type(e).__name__}"))

    async def _handle(self, request: agent_pb2.ConverseRequest) -> bool:
        """Dispatch one request; False once the call is over."""
        kind = request.WhichOneof("event")
        if kind == "audio_in":
            frames = max(1, len(request.audio_in.audio) // self._frame_bytes)
            self.in_frames += frames
            metrics.FRAMES_IN.inc(frames)
            await self._pipeline.on_audio(request.audio_in)
        elif kind == "ping":
            self.rtt_ms = request.ping.last_rtt_ms or self.rtt_ms
            pong = agent_pb2.Pong(
                client_timestamp_ms=request.ping.client_timestamp_ms, server_timestamp_ms=_now_ms()
            )
            await self.outbox.put_control(agent_pb2.ConverseResponse(pong=pong))
        elif kind == "dtmf":
            await self._pipeline.on_dtmf(request.dtmf.digit)
        elif kind == "playback_mark":
            played = request.playback_mark.status != agent_pb2.MARK_STATUS_CLEARED
            await self._pipeline.on_playback_mark(request.playback_mark.mark_id, played)
        elif kind == "message_stored":
            self._unacked.stored(self.info.call_sid, request.message_stored.message_id)
        elif kind == "hangup":
            await self._finish(f"hangup ({request.hangup.reason or 'no reason given'})")
            return False
        elif kind == "session_start":
            raise ProtocolError("SessionStart is only allowed as the first ConverseRequest; got a second one")
        else:
            raise ProtocolError("ConverseRequest has no event set (unknown to this server, or empty)")
        return True

    async def _finish(self, reason: str) -> None:
        if self.outbox.closed:
            return
        self.end_reason = reason
        await self._pipeline.finish()
        await self.outbox.close(discard_media=False)

    async def _fail(self, error: AgentError) -> None:
        self._error = error
        self.end_reason = f"error ({error.message})"
        await self.outbox.close(discard_media=True)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._metrics_interval_s)
            metrics = agent_pb2.Metrics(
                rtt_ms=self.rtt_ms, in_frames=self.in_frames, out_frames=self.out_frames
            )
            await self.outbox.put_control(agent_pb2.ConverseResponse(metrics=metrics))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
