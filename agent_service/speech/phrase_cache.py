"""Sentences the agent has said, kept as telephone µ-law so saying one again costs no synthesis.

A receptionist says the same sentences to every caller: the greeting, the prompts, the answers its
knowledge gives word for word. Piper takes 40–240 ms for a first sentence (more while other calls'
Whisper share the cores), and the first sentence is what the caller waits for; a kept one goes out at
once, without waiting for a TTS worker. One cache per process, shared by all calls, bounded by
TTS_CACHE_SENTENCES (least recently said dropped first) and by the length of a sentence kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from agent_service import metrics
from agent_service.speech.base import SpeechAudio
from agentlocator_common import telephone_audio

LONGEST_KEPT = 12 * telephone_audio.TELEPHONE_RATE  # bytes of µ-law: 12 s; longer ones are not kept


class PhraseCache:
    def __init__(self, sentences: int) -> None:
        self.sentences = sentences  # 0: nothing is kept
        self._kept: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    async def mulaw(self, voice: str, text: str, synthesize: Callable[[], Awaitable[SpeechAudio]]) -> bytes:
        """`text` in `voice` as telephone µ-law: kept from an earlier time, or `synthesize()`d now."""
        key = (voice, text)
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            metrics.TTS_CACHE.labels("hit").inc()
            return kept
        speech = await synthesize()
        mulaw = telephone_audio.to_telephone(speech.pcm, speech.sample_rate)
        if self.sentences:
            metrics.TTS_CACHE.labels("miss").inc()
        if self.sentences and 0 < len(mulaw) <= LONGEST_KEPT:
            self._kept[key] = mulaw
            while len(self._kept) > self.sentences:
                self._kept.popitem(last=False)
        return mulaw
