"""Fixtures for owner messages: the store on SQLite and on a real PostgreSQL, and taken messages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agentlocator.agent.v1 import agent_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.calls.test_call_bridge import agent_factory  # noqa: F401 (a fixture: a scripted agent on port 0)
from tests.speech.conftest import piper  # noqa: F401 (a fixture: the calls' voice, for a caller's speech)
from voice_gateway.storage.schema import open_database

CALLER = "+15005550006"
OWNER = "+4915112345678"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = (
        f"sqlite:///{tmp_path}/owner.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    opened = await open_database(url)
    yield opened
    await opened.dispose()


def taken(reason: str = "my crown came off", **fields: object) -> agent_pb2.TakenMessage:
    values: dict[str, Any] = {
        "message_id": uuid.uuid4().hex,
        "name": "Jo Bloggs",
        "number": "07700900123",
        "reason": reason,
        "taken_at_ms": 1_790_000_000_000,
        "channel": agent_pb2.CHANNEL_VOICE,
        "conversation_id": "CA" + uuid.uuid4().hex,
        "caller": CALLER,
        **fields,
    }
    return agent_pb2.TakenMessage(**values)
