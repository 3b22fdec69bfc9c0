"""Pipelines by name. AGENT_PIPELINE picks one at start-up; the speech issue registers more here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent_service.errors import AgentError
from agent_service.pipelines import echo
from agent_service.pipelines.base import CallInfo, CallPipeline, Outlet, PipelineOptions
from agent_service.speech import runtime as speech_runtime


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    name: str
    open_call: Callable[[CallInfo, Outlet, PipelineOptions], CallPipeline]
    # Loads what the first call would otherwise wait for; run in a worker thread after start-up.
    warm_up: Callable[[], None] | None = None


class UnknownPipelineError(AgentError):
    pass


_REGISTRY: dict[str, PipelineSpec] = {}


def register(spec: PipelineSpec) -> None:
    if spec.name in _REGISTRY:
        raise ValueError(f"pipeline {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec


def pipeline_names() -> list[str]:
    return sorted(_REGISTRY)


def get_pipeline(name: str) -> PipelineSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownPipelineError(
            f"unknown pipeline {name!r}; known: {', '.join(pipeline_names())}"
        ) from None


register(PipelineSpec(name="echo", open_call=echo.EchoPipeline))
# VAD → STT → brain → TTS (agent_service/speech); models load after start-up (AGENT_WARM_UP) or on the
# first call, never at import.
register(
    PipelineSpec(name="conversation", open_call=speech_runtime.open_call, warm_up=speech_runtime.warm_up)
)
