"""The `echo` pipeline: the caller hears themselves, so the whole audio path is testable without any model.

Caller audio goes back out unchanged, cut into utterances of AGENT_ECHO_UTTERANCE_MS each, and every
utterance ends with a Mark, so the gateway's playout and mark bookkeeping are exercised as by a real agent.
"""

from __future__ import annotations

from agentlocator.agent.v1 import agent_pb2

from agent_service.pipelines.base import CallInfo, Outlet, PipelineOptions


class EchoPipeline:
    def __init__(self, call: CallInfo, outlet: Outlet, options: PipelineOptions) -> None:
        per_utterance = call.bytes_per_second * options.echo_utterance_ms // 1000
        # Never split a 16-bit sample across two utterances.
        per_utterance -= per_utterance % call.sample_width
        self._utterance_bytes = max(per_utterance, call.sample_width)
        self._outlet = outlet
        self._utterance = 1
        self._chunk_seq = 0
        self._filled = 0
        self.marks_played = 0
        self.marks_cleared = 0

    @property
    def utterance_id(self) -> str:
        return f"echo-{self._utterance}"

    async def on_audio(self, audio_in: agent_pb2.AudioIn) -> None:
        data: bytes = audio_in.audio
        while data:
            room = self._utterance_bytes - self._filled
            piece, data = data[:room], data[room:]
            self._filled += len(piece)
            await self._emit(piece, final=self._filled == self._utterance_bytes)

    async def on_dtmf(self, digit: str) -> None:
        pass

    async def on_playback_mark(self, mark_id: str, played: bool) -> None:
        if played:
            self.marks_played += 1
        else:
            self.marks_cleared += 1

    async def finish(self) -> None:
        # A partial utterance still gets its final chunk and Mark, so the gateway's bookkeeping closes.
        if self._chunk_seq:
            await self._emit(b"", final=True)

    async def aclose(self) -> None:
        pass

    async def _emit(self, audio: bytes, *, final: bool) -> None:
        utterance_id = self.utterance_id
        out = agent_pb2.AudioOut(
            audio=audio, utterance_id=utterance_id, chunk_seq=self._chunk_seq, final=final
        )
        await self._outlet.send(agent_pb2.ConverseResponse(audio_out=out))
        self._chunk_seq += 1
        if final:
            mark = agent_pb2.Mark(mark_id=f"{utterance_id}-end", utterance_id=utterance_id)
            await self._outlet.send(agent_pb2.ConverseResponse(mark=mark))
            self._utterance += 1
            self._chunk_seq = 0
            self._filled = 0
