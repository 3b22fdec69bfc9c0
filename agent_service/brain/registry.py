"""Brains by LLM_PROVIDER: `receptionist` (default), `local`, `openai`; the LLMs layered behind the
receptionist unless LLM_HYBRID=false, with the tools the composition root registered (the call tools
when it gives none). The composition root calls `build_brain` once per process."""

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
    receptionist = ReceptionistBrain(knowledge, settings.brain_confidence)
    if settings.llm_provider == "receptionist":
        return receptionist
    tools = tools if tools is not None else ToolRegistry(call_tools(knowledge))
    llm = LlmBrain(_MODELS[settings.llm_provider](settings, knowledge, tools), receptionist, tools)
    return HybridBrain(receptionist, llm, prefer_receptionist=settings.llm_hybrid)
