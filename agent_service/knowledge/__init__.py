"""The business's knowledge: one YAML file (`KNOWLEDGE_FILE`, default the shipped demo) drives answers."""

from __future__ import annotations

from agent_service.knowledge.loader import (
    DEMO_KNOWLEDGE_FILE,
    Faq,
    Knowledge,
    KnowledgeError,
    Service,
    load_knowledge,
)

__all__ = ["DEMO_KNOWLEDGE_FILE", "Faq", "Knowledge", "KnowledgeError", "Service", "load_knowledge"]
