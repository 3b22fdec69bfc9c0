"""SessionStart, validated into the CallInfo a pipeline is opened with.

Every problem is a ProtocolError naming the field, so the gateway's log says exactly what it sent wrong.
The per-call policies' ranges are wide enough for any sensible tuning and narrow enough that a unit
mistake (seconds for milliseconds) is refused instead of making a call deaf or impossible to interrupt.
"""

from __future__ import annotations

from agentlocator.agent.v1 import agent_pb2

from agent_service.call import PROTOCOL_VERSION
from agent_service.errors import ProtocolError
from agent_service.pipelines.base import BargeInOverride, CallInfo, EndpointingOverride

_LINEAR16_RATES = range(8000, 48001)
# Allowed values besides 0 ("the server's choice"), inclusive; in milliseconds.
BARGE_IN_MIN_SPEECH_MS = (40, 2000)
BARGE_IN_PROTECTED_MS = (1, 60000)
ENDPOINTING_SILENCE_MS = (100, 5000)
ENDPOINTING_MIN_UTTERANCE_MS = (20, 1000)
ENDPOINTING_MAX_UTTERANCE_MS = (2000, 120000)


def call_info(start: agent_pb2.SessionStart) -> CallInfo:
    """Validate SessionStart; raises ProtocolError naming the first field that is wrong."""
    if not start.call_sid:
        raise ProtocolError("SessionStart.call_sid is required")
    if start.protocol_version not in (0, PROTOCOL_VERSION):
        raise ProtocolError(
            f"SessionStart.protocol_version {start.protocol_version} is not supported; "
            f"this server speaks {PROTOCOL_VERSION}"
        )
    rate = 8000
    if start.encoding == agent_pb2.AUDIO_ENCODING_LINEAR16:
        if start.sample_rate_hz not in _LINEAR16_RATES:
            raise ProtocolError("SessionStart.sample_rate_hz must be 8000..48000 for AUDIO_ENCODING_LINEAR16")
        rate = start.sample_rate_hz
    elif start.encoding != agent_pb2.AUDIO_ENCODING_MULAW_8K:
        raise ProtocolError(
            "SessionStart.encoding must be AUDIO_ENCODING_MULAW_8K or AUDIO_ENCODING_LINEAR16"
        )
    return CallInfo(
        call_sid=start.call_sid,
        stream_sid=start.stream_sid,
        encoding=start.encoding,
        sample_rate_hz=rate,
        from_number=start.from_number,
        to_number=start.to_number,
        custom_parameters=dict(start.custom_parameters),
        provider_overrides=dict(start.provider_overrides),
        resumed=start.resumed,
        barge_in=_barge_in(start.barge_in) if start.HasField("barge_in") else None,
        endpointing=_endpointing(start.endpointing) if start.HasField("endpointing") else None,
    )


def _barge_in(policy: agent_pb2.BargeInPolicy) -> BargeInOverride:
    return BargeInOverride(
        enabled=policy.enabled,
        min_speech_ms=_ms("barge_in.min_speech_ms", policy.min_speech_ms, BARGE_IN_MIN_SPEECH_MS),
        protected_ms=_ms("barge_in.protected_ms", policy.protected_ms, BARGE_IN_PROTECTED_MS),
    )


def _endpointing(policy: agent_pb2.EndpointingPolicy) -> EndpointingOverride:
    return EndpointingOverride(
        silence_ms=_ms("endpointing.silence_ms", policy.silence_ms, ENDPOINTING_SILENCE_MS),
        min_utterance_ms=_ms(
            "endpointing.min_utterance_ms", policy.min_utterance_ms, ENDPOINTING_MIN_UTTERANCE_MS
        ),
        max_utterance_ms=_ms(
            "endpointing.max_utterance_ms", policy.max_utterance_ms, ENDPOINTING_MAX_UTTERANCE_MS
        ),
    )


def _ms(field: str, value: int, allowed: tuple[int, int]) -> int:
    low, high = allowed
    if value and not low <= value <= high:
        raise ProtocolError(
            f"SessionStart.{field}={value} is out of range: 0 (the server's choice) or {low}..{high} ms"
        )
    return value
