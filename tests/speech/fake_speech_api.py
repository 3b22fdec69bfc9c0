"""A loopback OpenAI-compatible speech server (`POST /v1/audio/transcriptions`, `POST /v1/audio/speech`),
the API self-hosted Whisper servers speak. It is backed by the real embedded models, so what crosses the
wire is real speech: transcriptions come from Whisper, speech from Piper, returned as a WAV.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from agent_service.speech.openai_compat import wav_bytes
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.whisper_stt import WhisperStt


@dataclass
class FakeSpeechApi:
    whisper: WhisperStt
    piper: PiperTts
    api_key: str = "sk-test-key"
    fail_with: int | None = None  # answer every request with this status and an OpenAI-style error
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_post("/v1/audio/speech", self._speech)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _refuse(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "Incorrect API key provided"}}, status=401)
        if self.fail_with is not None:
            return web.json_response({"error": {"message": "overloaded"}}, status=self.fail_with)
        return None

    async def _transcriptions(self, request: web.Request) -> web.Response:
        if (refusal := self._refuse(request)) is not None:
            return refusal
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        with wave.open(io.BytesIO(upload.file.read())) as w:
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)
        self.requests.append({"path": request.path, "model": form.get("model"), "rate": rate})
        text = self.whisper.transcribe_blocking(pcm, rate)
        return web.json_response({"text": text})

    async def _speech(self, request: web.Request) -> web.Response:
        if (refusal := self._refuse(request)) is not None:
            return refusal
        body = await request.json()
        self.requests.append({"path": request.path, **body})
        speech = self.piper.synthesize_blocking(body["input"])
        return web.Response(body=wav_bytes(speech.pcm, speech.sample_rate), content_type="audio/wav")
