"""The greeting's recording for the console's play button, spoken by the agent's own voice over gRPC.

The agent converts it to µ-law at 8 kHz exactly as it does for a call, so the operator hears the
telephone rendition; it is wrapped as 16-bit PCM WAV because browsers do not all play µ-law WAV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc
from agentlocator.agent.v1 import agent_pb2

from voice_gateway import metrics
from voice_gateway.agent_client import AgentClient
from voice_gateway.wav import mulaw_wav_bytes

log = logging.getLogger("voice_gateway.console")

# The first request of a fresh agent also loads the voice (about half a second with Piper); a cloud voice
# may take longer.
SYNTHESIZE_TIMEOUT_S = 15.0
_AGENT_DOWN = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


@dataclass(frozen=True, slots=True)
class GreetingAudio:
    wav: bytes
    text: str
    tts: str
    synthesis_ms: int


class GreetingUnavailable(Exception):
    def __init__(self, message: str, http_status: int) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


async def greeting_audio(link: AgentClient, timeout_s: float = SYNTHESIZE_TIMEOUT_S) -> GreetingAudio:
    """Raises GreetingUnavailable: 503 when the agent cannot be reached, 502 when it refused or failed."""
    request = agent_pb2.SynthesizeRequest(greeting=True, encoding=agent_pb2.AUDIO_ENCODING_MULAW_8K)
    knowledge = await link.knowledge_version()  # the greeting as the console last saved it
    if knowledge is not None:
        request.knowledge.CopyFrom(knowledge)
    try:
        reply = await link.stub().Synthesize(request, timeout=timeout_s)
    except grpc.aio.AioRpcError as exc:
        code, detail = exc.code(), exc.details() or "no details"
        metrics.GREETING_PREVIEWS.labels(code.name).inc()
        log.warning("GREETING_PREVIEW_FAILED code=%s detail=%s", code.name, exc.details())
        if code in _AGENT_DOWN:
            raise GreetingUnavailable(
                f"the agent service at {link.addr} did not answer ({code.name}): {detail}", 503
            ) from exc
        message = f"the agent could not speak the greeting ({code.name}): {detail}"
        raise GreetingUnavailable(message, 502) from exc
    metrics.GREETING_PREVIEWS.labels("OK").inc()
    return GreetingAudio(mulaw_wav_bytes(reply.audio), reply.text, reply.tts, reply.synthesis_ms)
