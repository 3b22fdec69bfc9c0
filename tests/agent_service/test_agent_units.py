"""In-process tests of the parts with logic of their own: echo cutting, outbox priority, chat memory."""

from __future__ import annotations

import asyncio
from typing import Any

from agentlocator.agent.v1 import agent_pb2

from agent_service.call import Call
from agent_service.errors import (
    AgentError,
    DrainingError,
    ModelLoadError,
    ProtocolError,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    TooManyCallsError,
)
from agent_service.grpc_status import grpc_status
from agent_service.outbox import Outbox
from agent_service.pipelines.base import CallInfo, PipelineOptions, PipelineSpec
from agent_service.pipelines.echo import EchoPipeline


class ListOutlet:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, response: Any) -> None:
        self.sent.append(response)

    async def clear_playback(self, up_to_utterance_id: str = "") -> None:
        self.sent.append(
            agent_pb2.ConverseResponse(
                clear_playback=agent_pb2.ClearPlayback(up_to_utterance_id=up_to_utterance_id)
            )
        )


def _linear16_call(rate: int) -> CallInfo:
    return CallInfo("CA1", "MZ1", encoding=agent_pb2.AUDIO_ENCODING_LINEAR16, sample_rate_hz=rate)


async def test_echo_splits_a_chunk_that_crosses_an_utterance_boundary() -> None:
    outlet = ListOutlet()
    # 10 ms utterances of 16 kHz linear16 are 320 bytes; one 500-byte chunk crosses the boundary.
    echo = EchoPipeline(_linear16_call(16000), outlet, PipelineOptions(echo_utterance_ms=10))
    await echo.on_audio(agent_pb2.AudioIn(audio=bytes(range(250)) * 2, seq=1))
    await echo.finish()
    kinds = [r.WhichOneof("event") for r in outlet.sent]
    assert kinds == ["audio_out", "mark", "audio_out", "audio_out", "mark"]
    first, second, closing = (r.audio_out for r in outlet.sent if r.HasField("audio_out"))
    assert (len(first.audio), first.final, first.utterance_id) == (320, True, "echo-1")
    assert (len(second.audio), second.final, second.chunk_seq) == (180, False, 0)
    assert (closing.audio, closing.final, closing.chunk_seq) == (b"", True, 1)
    assert first.audio + second.audio == bytes(range(250)) * 2


async def test_echo_never_splits_a_16_bit_sample() -> None:
    outlet = ListOutlet()
    # 1 ms at 11025 Hz is 22.05 bytes; the utterance must still hold whole samples.
    echo = EchoPipeline(_linear16_call(11025), outlet, PipelineOptions(echo_utterance_ms=1))
    await echo.on_audio(agent_pb2.AudioIn(audio=bytes(100)))
    sizes = [len(r.audio_out.audio) for r in outlet.sent if r.HasField("audio_out")]
    assert all(size % 2 == 0 for size in sizes)


async def test_echo_finish_sends_nothing_when_no_utterance_is_open() -> None:
    outlet = ListOutlet()
    echo = EchoPipeline(_linear16_call(8000), outlet, PipelineOptions(echo_utterance_ms=1))
    await echo.on_audio(agent_pb2.AudioIn(audio=bytes(16)))
    sent = len(outlet.sent)
    await echo.finish()
    assert len(outlet.sent) == sent


async def _next(outbox: Outbox) -> Any:
    response = await outbox.get()
    assert response is not None
    return response


def _pong(n: int) -> Any:
    return agent_pb2.ConverseResponse(pong=agent_pb2.Pong(client_timestamp_ms=n))


def _audio(uid: str) -> Any:
    return agent_pb2.ConverseResponse(audio_out=agent_pb2.AudioOut(audio=b"x", utterance_id=uid))


async def test_outbox_sends_control_ahead_of_queued_audio() -> None:
    outbox = Outbox()
    await outbox.put_media(_audio("u1"))
    await outbox.put_media(_audio("u2"))
    await outbox.put_control(_pong(7))
    assert (await _next(outbox)).WhichOneof("event") == "pong"
    assert (await _next(outbox)).audio_out.utterance_id == "u1"


async def test_outbox_sends_queued_chunks_of_one_utterance_as_one_numbered_in_order() -> None:
    def chunk(uid: str, audio: bytes, final: bool = False) -> Any:
        out = agent_pb2.AudioOut(audio=audio, utterance_id=uid, final=final)
        return agent_pb2.ConverseResponse(audio_out=out)

    outbox = Outbox()
    await outbox.put_media(chunk("u1", b"a"))
    first = await _next(outbox)  # nothing waiting behind it: sent as it is
    for part in (b"b", b"c", b"d"):
        await outbox.put_media(chunk("u1", part))
    await outbox.put_media(chunk("u1", b"e", final=True))
    await outbox.put_media(chunk("u2", b"f"))
    await outbox.put_media(agent_pb2.ConverseResponse(mark=agent_pb2.Mark(mark_id="m2")))
    await outbox.put_media(chunk("u2", b"g", final=True))
    sent = [await _next(outbox) for _ in range(4)]
    outs = [first.audio_out, sent[0].audio_out, sent[1].audio_out, sent[3].audio_out]
    assert [(o.utterance_id, o.audio, o.chunk_seq, o.final) for o in outs] == [
        ("u1", b"a", 0, False),
        ("u1", b"bcde", 1, True),  # merged up to the final chunk
        ("u2", b"f", 0, False),  # a mark in between keeps its place
        ("u2", b"g", 1, True),
    ]
    assert sent[2].mark.mark_id == "m2"


async def test_outbox_close_discarding_media_ends_with_the_last_message_then_none() -> None:
    outbox = Outbox()
    await outbox.put_media(_audio("u1"))
    end = agent_pb2.ConverseResponse(end_call=agent_pb2.EndCall(reason="bye"))
    await outbox.close(end, discard_media=True)
    await outbox.put_media(_audio("late"))
    assert (await _next(outbox)).end_call.reason == "bye"
    assert await outbox.get() is None


async def test_outbox_clear_media_drops_queued_audio_and_marks_but_keeps_transcripts() -> None:
    outbox = Outbox()
    await outbox.put_media(_audio("u1"))
    await outbox.put_media(agent_pb2.ConverseResponse(transcript=agent_pb2.Transcript(text="hi")))
    await outbox.put_media(agent_pb2.ConverseResponse(mark=agent_pb2.Mark(mark_id="m1")))
    await outbox.clear_media()
    await outbox.close(discard_media=False)
    assert (await _next(outbox)).transcript.text == "hi"
    assert await outbox.get() is None


def test_each_error_maps_to_the_status_code_the_contract_promises() -> None:
    assert grpc_status(ProtocolError("x")).name == "INVALID_ARGUMENT"
    assert grpc_status(TooManyCallsError("x")).name == "RESOURCE_EXHAUSTED"
    assert grpc_status(DrainingError("x")).name == "UNAVAILABLE"
    assert grpc_status(ProviderError("x", retryable=True)).name == "UNAVAILABLE"
    assert grpc_status(ProviderError("x")).name == "INTERNAL"
    assert grpc_status(AgentError("x")).name == "INTERNAL"
    assert TooManyCallsError("x").retryable and not ProtocolError("x").retryable


def test_provider_failures_are_one_family_whose_retryable_flag_picks_the_status() -> None:
    # The hybrid brain falls back on any ProviderError; the status follows `retryable`, not the class.
    assert grpc_status(ProviderUnavailable("LLM timed out")).name == "UNAVAILABLE"
    assert grpc_status(ProviderRejected("LLM answered 401")).name == "INTERNAL"
    assert grpc_status(ModelLoadError("no GGUF model")).name == "INTERNAL"
    assert grpc_status(ProviderRejected("one-off", retryable=True)).name == "UNAVAILABLE"
    assert all(
        issubclass(kind, ProviderError) for kind in (ProviderUnavailable, ProviderRejected, ModelLoadError)
    )


class FakeStream:
    """A servicer context with scripted requests; after them the client stays connected and silent."""

    def __init__(self, *requests: Any) -> None:
        self._requests = list(requests)
        self.written: list[Any] = []

    async def read(self) -> Any:
        if self._requests:
            return self._requests.pop(0)
        await asyncio.Event().wait()

    async def write(self, response: Any) -> None:
        self.written.append(response)


class GoodbyePipeline:
    """Says one utterance, then ends the call, on the first audio it hears."""

    def __init__(self, call: CallInfo, outlet: Any) -> None:
        self._outlet = outlet

    async def on_audio(self, audio_in: Any) -> None:
        goodbye = agent_pb2.AudioOut(audio=b"bye", utterance_id="u1", final=True)
        await self._outlet.send(agent_pb2.ConverseResponse(audio_out=goodbye))
        end = agent_pb2.EndCall(reason="goodbye", goodbye_sent=True)
        await self._outlet.send(agent_pb2.ConverseResponse(end_call=end))

    async def on_dtmf(self, digit: str) -> None:
        pass

    async def on_playback_mark(self, mark_id: str, played: bool) -> None:
        pass

    async def finish(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def test_a_pipeline_end_call_follows_its_goodbye_audio_and_closes_the_call() -> None:
    spec = PipelineSpec("goodbye", open_call=GoodbyePipeline)
    stream = FakeStream(agent_pb2.ConverseRequest(audio_in=agent_pb2.AudioIn(audio=b"hi", seq=1)))
    call = Call(_linear16_call(8000), stream, spec, metrics_interval_s=0)
    await call.run()
    assert [r.WhichOneof("event") for r in stream.written] == ["session_accepted", "audio_out", "end_call"]
    assert stream.written[0].session_accepted.pipeline == "goodbye"
    assert call.end_reason == "agent ended the call (goodbye)"
