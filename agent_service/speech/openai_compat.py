"""OpenAI-compatible speech over HTTP: `POST {base}/audio/transcriptions` and `POST {base}/audio/speech`.

Works with OpenAI and self-hosted servers that speak the same API (faster-whisper-server, speaches,
LocalAI, ...), so languages the embedded models lack (Hebrew, ...) come by configuration.
"""

from __future__ import annotations

import io
import struct
import wave

import httpx
import numpy as np

from agent_service.errors import ProviderError
from agent_service.speech.base import SpeechAudio
from agentlocator_common.telephone_audio import Pcm


def wav_bytes(pcm: Pcm, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()


def parse_wav(data: bytes) -> SpeechAudio:
    """16-bit PCM WAV to mono samples; tolerates the streaming header (sizes 0xFFFFFFFF) some servers send."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ProviderError(f"TTS response is not a WAV file (starts {data[:12]!r})")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if fmt != 1 or bits != 16:
                raise ProviderError(f"TTS WAV must be 16-bit PCM; got format {fmt}, {bits} bits")
        elif kind == b"data":
            if not rate:
                raise ProviderError("TTS WAV has its data chunk before its fmt chunk")
            usable = len(body) - len(body) % (2 * channels)
            samples = np.frombuffer(body[:usable], "<i2").reshape(-1, channels)
            return SpeechAudio(
                samples.mean(axis=1).astype(np.int16) if channels > 1 else samples[:, 0].copy(), rate
            )
        pos += 8 + size + (size & 1)
    raise ProviderError("TTS WAV has no data chunk")


class _Http:
    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s
        )

    async def post(self, path: str, **kwargs: object) -> httpx.Response:
        # Failures are not marked retryable: a call apologises and goes on at once, and Synthesize's
        # contract answers INTERNAL for a voice that fails to speak.
        try:
            response = await self._client.post(path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as e:
            raise ProviderError(f"POST {self._client.base_url}{path} failed: {type(e).__name__}: {e}") from e
        if response.status_code != 200:
            raise ProviderError(
                f"POST {self._client.base_url}{path} answered {response.status_code}: {response.text[:200]}"
            )
        return response

    async def aclose(self) -> None:
        await self._client.aclose()


class OpenAiStt:
    name = "openai"

    def __init__(
        self, base_url: str, api_key: str, model: str, *, language: str = "", timeout_s: float = 10.0
    ) -> None:
        self._http = _Http(base_url, api_key, timeout_s)
        self._model = model
        self._language = language

    async def transcribe(self, pcm: Pcm, sample_rate: int) -> str:
        data = {"model": self._model, "response_format": "json"}
        if self._language:
            data["language"] = self._language
        files = {"file": ("utterance.wav", wav_bytes(pcm, sample_rate), "audio/wav")}
        response = await self._http.post("audio/transcriptions", data=data, files=files)
        try:
            text = response.json()["text"]
        except (ValueError, KeyError, TypeError) as e:
            raise ProviderError(f"transcription response has no text: {response.text[:200]}") from e
        if not isinstance(text, str):
            raise ProviderError(f"transcription text is not a string: {text!r}")
        return text.strip()

    async def aclose(self) -> None:
        await self._http.aclose()


class OpenAiTts:
    name = "openai"

    def __init__(
        self, base_url: str, api_key: str, model: str, voice: str, *, timeout_s: float = 10.0
    ) -> None:
        self._http = _Http(base_url, api_key, timeout_s)
        self._model = model
        self._voice = voice

    async def synthesize(self, text: str) -> SpeechAudio:
        body = {"model": self._model, "input": text, "voice": self._voice, "response_format": "wav"}
        response = await self._http.post("audio/speech", json=body)
        return parse_wav(response.content)

    async def aclose(self) -> None:
        await self._http.aclose()
