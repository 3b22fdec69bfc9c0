"""Asking the end-of-turn model about a call's pauses and handing its answers to the turn-taker.

The model is Smart Turn on the audio (AGENT_END_OF_TURN=smart-turn) or the words of the pause's
speculative transcript (AGENT_END_OF_TURN=text, sentence_end.py): the turn then ends as soon as its
transcript is ready and sounds finished, so the answer starts from a transcript already in hand.

One question at a time per call: a new pause, speech that resumes or a turn that ends withdraws the one
in flight (its late answer could only be about a pause that is over). A model that failed to load or
fails to answer leaves the decision to the fixed hangover (`TurnTaker.decide(..., None)`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from agent_service.speech.base import EndOfTurnModel
from agent_service.speech.sentence_end import judge_words
from agent_service.speech.turns import Paused, TurnTaker
from agentlocator_common import telephone_audio

log = logging.getLogger(__name__)

Judge = Callable[[], Coroutine[Any, Any, EndOfTurnModel]]


class Judging:
    def __init__(self, call_sid: str, turns: TurnTaker) -> None:
        self._call_sid = call_sid
        self._turns = turns
        self._model: EndOfTurnModel | None = None
        self._asking: asyncio.Task[None] | None = None
        self.probability = 0.0  # the model's answer about the last pause

    async def load(self, judge: Judge) -> None:
        try:
            self._model = await judge()
        except Exception:  # the call goes on, its turns ending on silence
            log.exception("END_OF_TURN_MODEL_FAILED call=%s: ending turns on silence", self._call_sid)

    def ask(self, event: Paused, audio: telephone_audio.Pcm) -> None:
        self.stop()
        if self._model is None:
            self._turns.decide(event.end_ms, None)
            return
        self._asking = asyncio.get_running_loop().create_task(self._ask(self._model, event, audio))

    def ask_text(self, event: Paused, transcript: asyncio.Task[str] | None) -> None:
        """Judge the pause by the words of its speculative transcription (None: speculation is off, so
        the fixed hangover decides)."""
        self.stop()
        if transcript is None:
            self._turns.decide(event.end_ms, None)
            return
        self._asking = asyncio.get_running_loop().create_task(self._read(event, transcript))

    async def _read(self, event: Paused, transcript: asyncio.Task[str]) -> None:
        # Shielded: the transcription is the turn's own if it ends here, and must outlive this question.
        try:
            text = await asyncio.shield(transcript)
        except asyncio.CancelledError:
            if not transcript.cancelled():
                raise  # this question was withdrawn
            return  # the caller went on: the pause is over
        except Exception:  # the turn's transcription reports it; meanwhile the fixed hangover decides
            self._turns.decide(event.end_ms, None)
            return
        verdict = judge_words(text)
        self.probability = {"finished": 1.0, "unfinished": 0.0, "unsure": 0.5}[verdict]
        self._turns.decide(event.end_ms, self.probability, unsure=verdict == "unsure")

    async def _ask(self, model: EndOfTurnModel, event: Paused, audio: telephone_audio.Pcm) -> None:
        try:
            probability: float | None = await model.complete(audio, telephone_audio.TELEPHONE_RATE)
        except Exception:
            log.exception("END_OF_TURN_MODEL_FAILED call=%s", self._call_sid)
            probability = None
        self.probability = probability or 0.0
        self._turns.decide(event.end_ms, probability)

    @property
    def pending(self) -> asyncio.Task[None] | None:
        """The question in flight, if any."""
        return self._asking if self._asking is not None and not self._asking.done() else None

    def stop(self) -> None:
        if self._asking is not None:
            self._asking.cancel()
            self._asking = None
