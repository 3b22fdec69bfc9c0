"""AgentService: admission control and protocol checks for Converse; Chat and Synthesize.

Every failure leaves through `grpc_status.abort`, so status codes keep one meaning: INVALID_ARGUMENT
for a client that breaks the contract, RESOURCE_EXHAUSTED past AGENT_MAX_CALLS, UNAVAILABLE while
draining. Converse uses the reader/writer API (`context.read()`/`context.write()`) and never touches the
request iterator, because grpc.aio forbids mixing the two styles in one call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from agentlocator.agent.v1 import agent_pb2, agent_pb2_grpc

from agent_service import appointments_rpc, metrics
from agent_service.brain import Conversation, Turn, respond_fully
from agent_service.call import Call
from agent_service.chat_limits import check_chat_request
from agent_service.chat_reply import chat_response
from agent_service.composition import Agent
from agent_service.errors import AgentError, DrainingError, ProtocolError, ProviderError, TooManyCallsError
from agent_service.grpc_status import abort, grpc_status
from agent_service.pipelines.base import CallInfo, Taught
from agent_service.session_start import call_info
from agent_service.taken_messages import UnackedMessages
from agentlocator_common import logs

log = logging.getLogger(__name__)
T = TypeVar("T")

SHUTDOWN_REASON = "server shutting down"
DRAINING = "server is shutting down; retry on another instance"


class AgentServicer(agent_pb2_grpc.AgentServiceServicer):  # type: ignore[misc]  # generated, untyped
    def __init__(self, agent: Agent) -> None:
        self._settings = agent.settings
        self._spec = agent.pipeline
        self._brain = agent.brain
        self._memory = agent.chat_memory
        # As many ended calls' unacknowledged messages kept for a resume as calls can be live at once.
        self._unacked = UnackedMessages(max_ended=self._settings.max_calls, journal=self._memory.save_message)
        self._synthesizer = agent.synthesizer
        self._appointments = agent.appointments
        self._versions = agent.versions
        self._admitted = 0
        self._calls: set[Call] = set()
        self._draining = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def active_calls(self) -> int:
        return self._admitted

    async def drain(self, grace_s: float) -> None:
        """Refuse new work, end every live call with EndCall, and wait up to `grace_s` for them to close."""
        self._draining.set()
        await asyncio.gather(*(call.end(SHUTDOWN_REASON) for call in list(self._calls)))
        if self._idle.is_set():
            return
        try:
            await asyncio.wait_for(self._idle.wait(), grace_s)
        except TimeoutError:
            log.warning("DRAIN_TIMEOUT calls_left=%d", self._admitted)

    async def Converse(self, request_iterator: object, context: Any) -> None:  # noqa: N802 (generated name)
        del request_iterator  # never read: this handler uses context.read() only
        # SessionStart is read before admission on purpose: rejecting while the client's first write is
        # still in flight makes grpc clients report INTERNAL instead of our status (see SessionAccepted).
        try:
            info = await self._session_start(context)
            self._admit()
        except AgentError as e:
            log.info("CALL_REJECTED code=%s detail=%s", grpc_status(e).name, e.message)
            metrics.CALLS_REJECTED.labels(grpc_status(e).name).inc()
            await abort(context, e)
        try:
            await self._converse(context, info)
        finally:
            self._admitted -= 1
            if self._admitted == 0:
                self._idle.set()

    async def _converse(self, context: Any, info: CallInfo) -> None:
        call = Call(info, context, self._spec, self._settings.metrics_interval_s, self._unacked)
        logs.bind_call(info.call_sid, info.stream_sid)  # this RPC's task and the call's tasks only
        log.info(
            "CALL_START call=%s stream=%s pipeline=%s encoding=%s resumed=%s",
            info.call_sid,
            info.stream_sid,
            self._settings.pipeline,
            agent_pb2.AudioEncoding.Name(info.encoding),
            str(info.resumed).lower(),
        )
        self._calls.add(call)
        error: AgentError | None = None
        try:
            await call.run()
        except AgentError as e:
            error = e
        except asyncio.CancelledError:
            call.end_reason = "cancelled by client or server"
            raise
        finally:
            self._calls.discard(call)
            if context.cancelled():
                call.end_reason = "cancelled by client or server"
            metrics.CALLS.labels(metrics.outcome_of(call.end_reason)).inc()
            log.info(
                'CALL_END call=%s reason="%s" in_frames=%d out_frames=%d',
                info.call_sid,
                call.end_reason,
                call.in_frames,
                call.out_frames,
            )
        if error is not None:
            await abort(context, error)

    async def _refuse_while_draining(self, context: Any) -> None:
        if self._draining.is_set():
            await abort(context, DrainingError(DRAINING))

    def _admit(self) -> None:
        if self._draining.is_set():
            raise DrainingError(DRAINING)
        if self._admitted >= self._settings.max_calls:
            raise TooManyCallsError(f"too many concurrent calls (AGENT_MAX_CALLS={self._settings.max_calls})")
        self._admitted += 1
        self._idle.clear()

    async def _session_start(self, context: Any) -> CallInfo:
        # Streams are not counted until admitted, so a client that never sends SessionStart must not be
        # able to hold one open forever; draining also ends the wait.
        read = asyncio.ensure_future(context.read())
        drained = asyncio.ensure_future(self._draining.wait())
        try:
            await asyncio.wait(
                {read, drained}, timeout=self._settings.session_start_timeout_s, return_when=FIRST_COMPLETED
            )
        except BaseException:  # the handler itself was cancelled: leave no orphaned read behind
            read.cancel()
            raise
        finally:
            drained.cancel()
        if not read.done():
            read.cancel()
            if self._draining.is_set():
                raise DrainingError(DRAINING)
            raise ProtocolError(
                f"no SessionStart within {self._settings.session_start_timeout_s:g} s of opening the stream"
            )
        first = read.result()
        if first is grpc.aio.EOF:
            raise ProtocolError(
                "stream closed before SessionStart; the first ConverseRequest must be SessionStart"
            )
        kind = first.WhichOneof("event")
        if kind != "session_start":
            raise ProtocolError(
                f"the first ConverseRequest must be SessionStart, got {kind or 'an empty event'}"
            )
        info = call_info(first.session_start)
        taught = await self._taught(first.session_start.knowledge)
        return info if taught is None else dataclasses.replace(info, taught=taught)

    async def _taught(self, sent: agent_pb2.KnowledgeVersion) -> Taught | None:
        """The knowledge version a request carries, built; None: answer from the start-up knowledge."""
        if self._versions is None or not sent.version:
            return None
        return await self._versions.resolve(sent)

    async def Chat(  # noqa: N802 (generated name)
        self, request: agent_pb2.ChatRequest, context: Any
    ) -> agent_pb2.ChatResponse:
        # The same brain as a phone call, over bounded history persisted in AGENT_DATA_DIR, so a WhatsApp
        # contact and a caller get the same answers and a restart does not forget a conversation.
        await self._refuse_while_draining(context)
        try:
            check_chat_request(request)
        except ProtocolError as e:
            await abort(context, e)
        cid = request.conversation_id
        if request.request_id and (earlier := self._memory.reply(cid, request.request_id)) is not None:
            log.info("CHAT_REPEATED conversation=%s request=%s", cid, request.request_id)
            repeated: agent_pb2.ChatResponse = agent_pb2.ChatResponse.FromString(earlier)
            repeated.history_turns = len(self._memory.history(cid))
            return repeated
        history = self._memory.history(cid)
        conversation = Conversation(
            cid,
            (*history, Turn("user", request.text.strip())),
            channel="whatsapp" if request.channel == agent_pb2.CHANNEL_WHATSAPP else "text",
            caller=request.from_address,
        )
        taught = await self._taught(request.knowledge)
        try:
            answer = await respond_fully(taught.brain if taught else self._brain, conversation)
        except ProviderError as e:
            log.warning(
                "CHAT_BRAIN_FAILED conversation=%s retryable=%s error=%s", cid, e.retryable, e.message
            )
            await abort(
                context, ProviderError(f"the agent could not answer: {e.message}", retryable=e.retryable)
            )
        response = chat_response(request, answer, self._memory.save_message)
        # The answer is kept with the turn, so a client that lost it and asks again gets the same one.
        reply = (request.request_id, response.SerializeToString()) if request.request_id else None
        user, agent = Turn("user", request.text.strip()), Turn("agent", answer.text)
        response.history_turns = self._memory.record(cid, user, agent, reply=reply)
        return response

    async def Synthesize(  # noqa: N802 (generated name)
        self, request: agent_pb2.SynthesizeRequest, context: Any
    ) -> agent_pb2.SynthesizeResponse:
        await self._refuse_while_draining(context)
        try:
            taught = await self._taught(request.knowledge)
            response = await self._synthesizer.synthesize(request, taught.greeting if taught else None)
        except AgentError as e:
            log.warning("SYNTHESIZE_FAILED code=%s detail=%s", grpc_status(e).name, e.message)
            await abort(context, e)
        log.info(
            "SYNTHESIZED tts=%s chars=%d bytes=%d ms=%d",
            response.tts,
            len(response.text),
            len(response.audio),
            response.synthesis_ms,
        )
        return response

    async def ListAppointments(  # noqa: N802 (generated name)
        self, request: agent_pb2.ListAppointmentsRequest, context: Any
    ) -> agent_pb2.ListAppointmentsResponse:
        return await self._calendar(
            context, lambda: appointments_rpc.list_appointments(self._appointments, request)
        )

    async def CancelAppointment(  # noqa: N802 (generated name)
        self, request: agent_pb2.CancelAppointmentRequest, context: Any
    ) -> agent_pb2.Appointment:
        return await self._calendar(
            context, lambda: appointments_rpc.cancel_appointment(self._appointments, request)
        )

    async def CalendarFeed(  # noqa: N802 (generated name)
        self, request: agent_pb2.CalendarFeedRequest, context: Any
    ) -> agent_pb2.CalendarFeedResponse:
        del request
        return await self._calendar(context, lambda: appointments_rpc.calendar_feed(self._appointments))

    async def _calendar(self, context: Any, work: Callable[[], Awaitable[T]]) -> T:
        await self._refuse_while_draining(context)
        try:
            return await work()
        except AgentError as e:
            log.warning("CALENDAR_RPC_FAILED code=%s detail=%s", grpc_status(e).name, e.message)
            await abort(context, e)
