"""An agent on the `conversation` pipeline served in this process on port 0, built by the composition
root from parts a test may choose (a recording brain), so a test can start several streams of one call
against the same process. Piper speaks; STT points at a closed port (these tests use DTMF or only VAD)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from agent_service.brain.base import Brain
from agent_service.brain.events import Action, Conversation, TextDelta
from agent_service.brain.registry import build_brain
from agent_service.composition import assemble
from agent_service.knowledge import load_knowledge
from agent_service.server import shutdown, start_server, warm_up
from agent_service.settings import AgentSettings
from agent_service.speech.registry import SpeechConfig, SpeechRegistry

GREETING = "Hello, this is the test line."


class RecordingBrain:
    """Answers every turn with one sentence and keeps the conversations it was asked about."""

    name = "recording"

    def __init__(self) -> None:
        self.conversations: list[Conversation] = []

    async def respond(self, conversation: Conversation) -> AsyncIterator[TextDelta | Action]:
        self.conversations.append(conversation)
        yield TextDelta("Noted.")


@asynccontextmanager
async def conversation_agent(
    data_dir: Path, brain: Brain | None = None, env: Mapping[str, str] | None = None
) -> AsyncIterator[int]:
    """Serve until the block ends; yields the port. The speech models are loaded before it yields."""
    settings = AgentSettings.from_env(
        {
            "AGENT_LISTEN": "127.0.0.1:0",
            "AGENT_PIPELINE": "conversation",
            "AGENT_DATA_DIR": str(data_dir),
            "AGENT_METRICS_INTERVAL_S": "0",
            "AGENT_GREETING": GREETING,
            "STT_PROVIDER": "openai",
            "STT_BASE_URL": "http://127.0.0.1:9/v1",
            **(env or {}),
        }
    )
    if brain is None:
        brain = build_brain(settings, load_knowledge(settings.knowledge_file))
    speech = SpeechRegistry(SpeechConfig.from_settings(settings))
    agent = assemble(settings, brain, speech, greeting=GREETING)
    running = await start_server(agent)
    try:
        await warm_up(agent.pipeline)
        yield running.port
    finally:
        await shutdown(running, grace_s=0)
