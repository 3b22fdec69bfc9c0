"""The business's knowledge: one YAML file (`KNOWLEDGE_FILE`, default the shipped demo) drives answers,
and the gateway may hand a newer version with each call or chat (the console's edits).

The parsing and its rules live in agentlocator_common.knowledge, shared with the gateway's console."""

from __future__ import annotations

from pathlib import Path

from agentlocator_common.knowledge import (
    Faq,
    Knowledge,
    KnowledgeError,
    Service,
    load_knowledge,
    parse_knowledge,
)

DEMO_KNOWLEDGE_FILE = Path(__file__).with_name("demo.yaml")

__all__ = [
    "DEMO_KNOWLEDGE_FILE",
    "Faq",
    "Knowledge",
    "KnowledgeError",
    "Service",
    "load_knowledge",
    "parse_knowledge",
]
