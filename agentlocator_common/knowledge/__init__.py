"""The business's knowledge as both services read it: parsed and validated by one set of rules, so the
console refuses on save exactly what the agent would refuse at start-up or on a call."""

from __future__ import annotations

from agentlocator_common.knowledge.loader import (
    Faq,
    Knowledge,
    KnowledgeError,
    Service,
    load_knowledge,
    parse_knowledge,
)

__all__ = ["Faq", "Knowledge", "KnowledgeError", "Service", "load_knowledge", "parse_knowledge"]
