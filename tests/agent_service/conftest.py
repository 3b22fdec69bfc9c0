"""The agent fixtures live in tests/conftest.py (the gateway's AI-mode tests use them too)."""

from __future__ import annotations

from tests.conftest import AgentFactory, AgentProcess

__all__ = ["AgentFactory", "AgentProcess"]
