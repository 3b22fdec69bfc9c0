"""The Synthesize RPC: one text spoken with the voice calls get, so an operator hears it before a caller.

It shares the process's speech registry (so its loaded voice) with the calls, and for MULAW_8K it applies the
very conversion a call's audio goes through, so what it returns is what a caller would hear.
"""

from __future__ import annotations

import asyncio
import time

from agentlocator.agent.v1 import agent_pb2

from agent_service.errors import ProtocolError, ProviderError
from agent_service.speech.base import TextToSpeech
from agent_service.speech.registry import SpeechRegistry
from agentlocator_common import telephone_audio

MAX_TEXT_CHARS = 1000
_ENCODINGS = (agent_pb2.AUDIO_ENCODING_MULAW_8K, agent_pb2.AUDIO_ENCODING_LINEAR16)


class Synthesizer:
    def __init__(self, registry: SpeechRegistry, greeting: str) -> None:
        self._registry = registry
        self._greeting = greeting

    async def synthesize(
        self, request: agent_pb2.SynthesizeRequest, greeting: str | None = None
    ) -> agent_pb2.SynthesizeResponse:
        """`greeting`: the greeting of the knowledge version the request named (None: the start-up one)."""
        text = self._text_of(request, greeting)
        if request.encoding not in _ENCODINGS:
            raise ProtocolError(
                "SynthesizeRequest.encoding must be AUDIO_ENCODING_MULAW_8K or AUDIO_ENCODING_LINEAR16"
            )
        registry = self._registry
        try:
            name = registry.check_overrides({"tts": request.tts} if request.tts else {})["tts"]
        except ProtocolError as e:
            raise ProtocolError(
                e.message.replace("provider_overrides['tts']", "SynthesizeRequest.tts")
            ) from e
        started = time.perf_counter()
        try:
            tts: TextToSpeech = await asyncio.to_thread(registry.get, "tts", name)
            speech = await tts.synthesize(text)
        except ProviderError as e:
            # Not retryable whatever the voice said: the contract answers INTERNAL for a failing voice.
            raise ProviderError(f"the {name} voice failed: {e.message}") from e
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        if request.encoding == agent_pb2.AUDIO_ENCODING_MULAW_8K:
            data, rate = (
                telephone_audio.to_telephone(speech.pcm, speech.sample_rate),
                telephone_audio.TELEPHONE_RATE,
            )
        else:
            data, rate = speech.pcm.astype("<i2").tobytes(), speech.sample_rate
        return agent_pb2.SynthesizeResponse(
            audio=data,
            encoding=request.encoding,
            sample_rate_hz=rate,
            text=text,
            tts=name,
            synthesis_ms=elapsed_ms,
        )

    def _text_of(self, request: agent_pb2.SynthesizeRequest, greeting: str | None) -> str:
        source = request.WhichOneof("source")
        if source == "greeting" and request.greeting:
            return self._greeting if greeting is None else greeting
        if source != "text" or not request.text.strip():
            raise ProtocolError("SynthesizeRequest needs a non-empty `text`, or `greeting: true`")
        if len(request.text) > MAX_TEXT_CHARS:
            raise ProtocolError(
                f"SynthesizeRequest.text is {len(request.text)} characters; the limit is {MAX_TEXT_CHARS}"
            )
        return request.text.strip()
