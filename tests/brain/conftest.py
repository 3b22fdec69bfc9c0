"""Fixtures for the brain tests: the demo knowledge, and a loopback OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, Knowledge, load_knowledge
from tests.brain.fake_openai import FakeOpenAi, RunningFakeOpenAi


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge(DEMO_KNOWLEDGE_FILE)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAi]:
    with RunningFakeOpenAi() as fake:
        yield fake
