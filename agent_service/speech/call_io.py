"""The conversation pipeline's bookkeeping that needs no decisions: the caller's recent audio, per-turn
timings, and the protobuf messages a call sends (audio chunks, transcripts, turn events, metrics)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from agentlocator.agent.v1 import agent_pb2

from agentlocator_common.telephone_audio import Pcm

CHUNK_BYTES = 1600  # 200 ms per AudioOut: few messages, and the gateway paces playout itself
PREROLL_MS = 200  # audio kept from before the VAD fired, so the first syllable reaches STT
POSTROLL_MS = 300  # and after it fell silent: Whisper misreads words cut right at their end


class UtteranceBuffer:
    """The caller's decoded frames by media time: the current utterance plus a short pre-roll."""

    def __init__(self) -> None:
        self._frames: list[tuple[int, Pcm]] = []

    def append(self, media_ms: int, pcm: Pcm) -> None:
        self._frames.append((media_ms, pcm))

    def take(self, start_ms: int, end_ms: int) -> Pcm:
        """The utterance from start to end (with pre- and post-roll); the buffer starts afresh."""
        start, end = start_ms - PREROLL_MS, end_ms + POSTROLL_MS
        pieces = [pcm for media_ms, pcm in self._frames if start <= media_ms < end]
        self._frames = []
        return np.concatenate(pieces) if pieces else np.zeros(0, np.int16)

    def peek(self, start_ms: int, end_ms: int) -> Pcm:
        """The utterance so far (with pre-roll) up to `end_ms`, leaving the buffer as it is: what the
        end-of-turn model and a speculative transcription get while the turn may still go on."""
        start = start_ms - PREROLL_MS
        pieces = [pcm for media_ms, pcm in self._frames if start <= media_ms < end_ms]
        return np.concatenate(pieces) if pieces else np.zeros(0, np.int16)

    def forget_before(self, now_ms: int) -> None:
        """Between utterances only the pre-roll is worth keeping."""
        horizon = now_ms - PREROLL_MS - 40
        while self._frames and self._frames[0][0] < horizon:
            self._frames.pop(0)


@dataclass(slots=True)
class TurnTimings:
    """Wall-clock milestones of one turn (monotonic seconds; 0 = not reached), for its Metrics."""

    end_of_speech: float
    stt_final: float = 0.0
    brain_first_token: float = 0.0
    first_tts_audio: float = 0.0
    first_frame_out: float = 0.0
    stt_queue_s: float = 0.0  # the transcription's wait for a worker
    speculative: str = ""  # hit, miss, off (transcription.py); empty: typed input
    end_of_turn: str = ""  # what ended the turn (turns.SpeechEnded.decision)
    probability: float = 0.0  # the end-of-turn model's answer, when it was asked

    def metrics(self, hangover_ms: int) -> agent_pb2.Metrics:
        to_first_frame = _ms(self.end_of_speech, self.first_frame_out)
        return agent_pb2.Metrics(
            stt_ms=_ms(self.end_of_speech, self.stt_final),
            llm_first_token_ms=_ms(self.stt_final, self.brain_first_token),
            tts_first_audio_ms=_ms(self.brain_first_token, self.first_tts_audio),
            turn_latency_ms=hangover_ms + to_first_frame,
            endpointing_ms=hangover_ms,
            stt_queue_ms=round(self.stt_queue_s * 1000),
            speculative_stt=_SPECULATIVE.get(self.speculative, 0),  # type: ignore[arg-type]
            end_of_turn=_END_OF_TURN.get(self.end_of_turn, 0),  # type: ignore[arg-type]
            end_of_turn_probability=self.probability,
        )

    def stages(self, hangover_ms: int) -> dict[str, float]:
        """Seconds per stage for the latency histograms, only for the stages this turn reached."""
        stages = {"endpointing": hangover_ms / 1000}
        if self.speculative:
            stages["stt_queue"] = self.stt_queue_s
        steps = (
            ("stt", self.end_of_speech, self.stt_final),
            ("llm_first_token", self.stt_final, self.brain_first_token),
            ("tts_first_audio", self.brain_first_token, self.first_tts_audio),
        )
        for name, start, end in steps:
            if start and end:
                stages[name] = max(0.0, end - start)
        if self.first_frame_out:
            stages["voice_to_voice"] = hangover_ms / 1000 + max(
                0.0, self.first_frame_out - self.end_of_speech
            )
        return stages


_SPECULATIVE = {
    "off": agent_pb2.SPECULATIVE_STT_OFF,
    "hit": agent_pb2.SPECULATIVE_STT_HIT,
    "miss": agent_pb2.SPECULATIVE_STT_MISS,
}
_END_OF_TURN = {
    "silence": agent_pb2.END_OF_TURN_SILENCE,
    "complete": agent_pb2.END_OF_TURN_COMPLETE,
    "incomplete": agent_pb2.END_OF_TURN_INCOMPLETE,
    "undecided": agent_pb2.END_OF_TURN_UNDECIDED,
    "fallback": agent_pb2.END_OF_TURN_FALLBACK,
    "max_length": agent_pb2.END_OF_TURN_MAX_LENGTH,
}


def _ms(start: float, end: float) -> int:
    return max(0, round((end - start) * 1000)) if end else 0


def audio_out(mulaw: bytes, utterance_id: str) -> list[agent_pb2.ConverseResponse]:
    """One sentence's audio in CHUNK_BYTES pieces, the last marked final, then its Mark."""
    chunks = [mulaw[i : i + CHUNK_BYTES] for i in range(0, len(mulaw), CHUNK_BYTES)]
    out = [
        agent_pb2.ConverseResponse(
            audio_out=agent_pb2.AudioOut(
                audio=chunk, utterance_id=utterance_id, chunk_seq=seq, final=seq == len(chunks) - 1
            )
        )
        for seq, chunk in enumerate(chunks)
    ]
    mark = agent_pb2.Mark(mark_id=f"{utterance_id}-end", utterance_id=utterance_id)
    return [*out, agent_pb2.ConverseResponse(mark=mark)]


def transcript(role: int, text: str, utterance_id: str, *, final: bool) -> agent_pb2.ConverseResponse:
    message = agent_pb2.Transcript(role=role, text=text, is_final=final, utterance_id=utterance_id)  # type: ignore[arg-type]
    return agent_pb2.ConverseResponse(transcript=message)


def turn_event(kind: int, media_ms: int) -> agent_pb2.ConverseResponse:
    event = agent_pb2.TurnEvent(kind=kind, media_timestamp_ms=media_ms)  # type: ignore[arg-type]
    return agent_pb2.ConverseResponse(turn_event=event)
