"""The interfaces a pipeline implements, and the plain data it is handed.

A pipeline never sees gRPC: it receives decoded request messages through `CallPipeline` and pushes
responses into an `Outlet`. The servicer owns the stream, ordering and shutdown, so a pipeline can be
tested with a list as its outlet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.base import Brain


@dataclass(frozen=True, slots=True)
class Taught:
    """A knowledge version the gateway sent, built (knowledge_versions.py): the brain that answers from
    it and the greeting a caller hears first."""

    version: int
    brain: Brain
    greeting: str


@dataclass(frozen=True, slots=True)
class BargeInOverride:
    """SessionStart.barge_in, validated: this call's interruption policy (0: the server's value)."""

    enabled: bool
    min_speech_ms: int = 0
    protected_ms: int = 0


@dataclass(frozen=True, slots=True)
class EndpointingOverride:
    """SessionStart.endpointing, validated: when this call's turns end (0: the server's value)."""

    silence_ms: int = 0
    min_utterance_ms: int = 0
    max_utterance_ms: int = 0


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What SessionStart said, validated, in the form pipelines need."""

    call_sid: str
    stream_sid: str
    encoding: int  # an agent_pb2.AudioEncoding value other than UNSPECIFIED
    sample_rate_hz: int
    from_number: str = ""
    to_number: str = ""
    custom_parameters: Mapping[str, str] = field(default_factory=dict)
    provider_overrides: Mapping[str, str] = field(default_factory=dict)
    resumed: bool = False  # a lost stream of this call re-attached: no second greeting
    barge_in: BargeInOverride | None = None  # None: the server's policy
    endpointing: EndpointingOverride | None = None
    taught: Taught | None = None  # None: the knowledge the agent started with

    @property
    def bytes_per_second(self) -> int:
        if self.encoding == agent_pb2.AUDIO_ENCODING_MULAW_8K:
            return 8000
        return self.sample_rate_hz * 2

    @property
    def sample_width(self) -> int:
        return 1 if self.encoding == agent_pb2.AUDIO_ENCODING_MULAW_8K else 2


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """The echo pipeline's knobs, taken from AgentSettings (pipelines never read the environment)."""

    echo_utterance_ms: int = 1000


class Outlet(Protocol):
    """Where a pipeline sends responses. `send` may wait: that is the back-pressure from a slow client."""

    async def send(self, response: agent_pb2.ConverseResponse) -> None: ...

    async def clear_playback(self, up_to_utterance_id: str = "") -> None:
        """Drop agent audio not yet sent, and tell the gateway to drop what it has not played."""
        ...


class CallPipeline(Protocol):
    """One call's conversation logic. The servicer calls these one at a time, in arrival order."""

    async def on_audio(self, audio_in: agent_pb2.AudioIn) -> None: ...

    async def on_dtmf(self, digit: str) -> None: ...

    async def on_playback_mark(self, mark_id: str, played: bool) -> None: ...

    async def finish(self) -> None:
        """The caller is gone (Hangup or end of stream): send what is still owed, then return."""
        ...

    async def aclose(self) -> None:
        """Release resources. Called exactly once, also after errors and cancellation."""
        ...


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """The pipeline AGENT_PIPELINE chose, as the composition root built it: one per process."""

    name: str
    # Opens one call; what the pipeline shares between calls (models, the brain) is bound in already.
    open_call: Callable[[CallInfo, Outlet], CallPipeline]
    # Loads what the first call would otherwise wait for; run in a worker thread after start-up.
    warm_up: Callable[[], None] | None = None
