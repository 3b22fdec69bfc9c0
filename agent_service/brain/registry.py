"""Brains by LLM_PROVIDER: `receptionist` (default), `local`, `openai`; the LLMs layered behind the
receptionist unless LLM_HYBRID=false, with the tools the composition root registered (the call tools
when it gives none). The composition root loads the model once per process (`build_model`) and wraps
it per knowledge version (`brain_with`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent_service.brain.base import Brain
from agent_service.brain.events import Conversation
from agent_service.brain.hybrid import HybridBrain
from agent_service.brain.llm import ChatModel, LlmBrain
from agent_service.brain.local_model import LocalChatModel
from agent_service.brain.local_models import model_path, verify
from agent_service.brain.prompt import chat_messages
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.brain.tool_registry import ToolRegistry
from agent_service.brain.tools import call_tools
from agent_service.knowledge import Knowledge
from agent_service.settings import AgentSettings


def _openai(settings: AgentSettings, knowledge: Knowledge, tools: ToolRegistry) -> ChatModel:
    del knowledge, tools  # a remote server caches prefixes itself
    # Imported here, not at the top: the openai SDK is slow to import and only this provider needs it.
    from agent_service.brain.openai_model import OpenAiChatModel

    return OpenAiChatModel(
        settings.llm_base_url,
        settings.llm_api_key,
        settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        max_tokens=settings.llm_max_tokens,
    )


def _local(settings: AgentSettings, knowledge: Knowledge, tools: ToolRegistry) -> ChatModel:
    if settings.local_llm_model:
        path = Path(settings.local_llm_model)
    else:
        path = model_path(settings.local_llm, settings.data_dir)
        verify(settings.local_llm, path)
    static_prompt = chat_messages(knowledge, Conversation("warm-up", ()))
    return LocalChatModel(
        path,
        threads=settings.local_llm_threads,
        max_tokens=settings.llm_max_tokens,
        warm_with=static_prompt,
        warm_tools=tools.definitions(),
    )


_MODELS: dict[str, Callable[[AgentSettings, Knowledge, ToolRegistry], ChatModel]] = {
    "openai": _openai,
    "local": _local,
}


def build_brain(settings: AgentSettings, knowledge: Knowledge, tools: ToolRegistry | None = None) -> Brain:
    """Raises ModelLoadError (local model missing or unverified)."""
    tools = tools if tools is not None else ToolRegistry(call_tools(knowledge))
    return brain_with(settings, knowledge, tools, build_model(settings, knowledge, tools))


def build_model(settings: AgentSettings, knowledge: Knowledge, tools: ToolRegistry) -> ChatModel | None:
    """The LLM, loaded once per process (None for the receptionist alone); `knowledge` and `tools` only
    warm its prompt cache, so a later knowledge version reuses it. Raises ModelLoadError."""
    if settings.llm_provider == "receptionist":
        return None
    return _MODELS[settings.llm_provider](settings, knowledge, tools)


def brain_with(
    settings: AgentSettings, knowledge: Knowledge, tools: ToolRegistry, model: ChatModel | None
) -> Brain:
    """The brain for one knowledge version around an already-loaded model: cheap, built per version."""
    receptionist = ReceptionistBrain(knowledge, settings.brain_confidence)
    if model is None:
        return receptionist
    llm = LlmBrain(model, receptionist, tools)
    return HybridBrain(receptionist, llm, prefer_receptionist=settings.llm_hybrid)
