"""Sentences said once are kept as µ-law for every call (TTS_CACHE_SENTENCES), with the real Piper."""

from __future__ import annotations

from prometheus_client import REGISTRY

from agent_service.pipelines.conversation import ConversationConfig
from agent_service.speech.base import SpeechAudio
from agent_service.speech.phrase_cache import PhraseCache
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.turns import TurnPolicy
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio
from tests.speech.conftest import line_noise, telephone
from tests.speech.pipeline_harness import Caller, PlayoutOutlet, open_pipeline
from tests.speech.test_conversation_pipeline import greeted
from tests.speech.test_speculative_turns import turn_metrics


class CountingVoice:
    name = "counting"

    def __init__(self, piper: PiperTts) -> None:
        self.piper = piper
        self.said: list[str] = []

    async def synthesize(self, text: str) -> SpeechAudio:
        self.said.append(text)
        return await self.piper.synthesize(text)


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("agentlocator_agent_tts_cache_total", {"outcome": outcome}) or 0.0


async def test_a_sentence_said_again_is_not_synthesised_again(piper: PiperTts) -> None:
    voice, cache = CountingVoice(piper), PhraseCache(8)
    hits, misses = counted("hit"), counted("miss")
    first = await cache.mulaw("joe", "We open at eight.", lambda: voice.synthesize("We open at eight."))
    again = await cache.mulaw("joe", "We open at eight.", lambda: voice.synthesize("We open at eight."))
    assert again == first and len(first) > telephone_audio.TELEPHONE_RATE // 4
    assert voice.said == ["We open at eight."]
    assert (counted("hit"), counted("miss")) == (hits + 1, misses + 1)
    other = await cache.mulaw("amy", "We open at eight.", lambda: voice.synthesize("We open at eight."))
    assert len(voice.said) == 2 and other  # another voice is another sentence


async def test_the_least_recently_said_sentence_goes_first_and_zero_keeps_none(piper: PiperTts) -> None:
    voice, cache = CountingVoice(piper), PhraseCache(2)
    for text in ("One.", "Two.", "One.", "Three.", "One.", "Two."):
        await cache.mulaw("joe", text, lambda text=text: voice.synthesize(text))
    # "Two." was the least recently said when "Three." came, so it was said twice.
    assert voice.said == ["One.", "Two.", "Three.", "Two."] and len(cache) == 2
    off = PhraseCache(0)
    for _ in range(2):
        await off.mulaw("joe", "One.", lambda: voice.synthesize("One."))
    assert voice.said[-2:] == ["One.", "One."] and len(off) == 0


async def test_the_second_caller_hears_the_greeting_and_a_fixed_answer_without_synthesis(
    piper: PiperTts, silero: SileroVad
) -> None:
    voice, cache, whisper = CountingVoice(piper), PhraseCache(64), WhisperStt(threads=2, window_s=15)
    config = ConversationConfig(greeting="Hello, how can I help?", turns=TurnPolicy(hangover_ms=500))
    question = telephone(piper, "What are your opening hours?")
    said: list[int] = []
    for _ in range(2):
        outlet = PlayoutOutlet()
        pipeline = open_pipeline(outlet, silero, whisper, voice, config, phrases=cache)
        caller = Caller(pipeline, outlet)
        try:
            await greeted(caller)
            await caller.stream(question + line_noise(2.0))
            await outlet.until(lambda o: bool(turn_metrics(o)))
        finally:
            await pipeline.aclose()
        said.append(len(voice.said))
    assert voice.said[0] == "Hello, how can I help?" and said[0] >= 2
    assert said[1] == said[0] and turn_metrics(outlet)  # the second call synthesised nothing
