"""Asking the end-of-turn model about a call's pauses and handing its answers to the turn-taker.

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

    async def _ask(self, model: EndOfTurnModel, event: Paused, audio: telephone_audio.Pcm) -> None:
        try:
            probability: float | None = await model.complete(audio, telephone_audio.TELEPHONE_RATE)
        except Exception:
            log.exception("END_OF_TURN_MODEL_FAILED call=%s", self._call_sid)
            probability = None
        self.probability = probability or 0.0
        self._turns.decide(event.end_ms, probability)

    def stop(self) -> None:
        if self._asking is not None:
            self._asking.cancel()
            self._asking = None
