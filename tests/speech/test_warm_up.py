"""The conversation pipeline loads its models right after start-up, so the first caller does not wait."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import AgentFactory

pytestmark = pytest.mark.integration


async def test_the_agent_loads_voice_ears_and_brain_before_the_first_call(start_agent: AgentFactory) -> None:
    agent = start_agent(AGENT_PIPELINE="conversation")
    warm = await asyncio.to_thread(agent.wait_for, "PIPELINE_WARM pipeline=conversation", 120)
    assert "ms=" in warm
    assert not agent.matching("PIPELINE_WARM_FAILED")
