"""Chat memory: bounded per conversation and in number of conversations, persisted across restarts."""

from __future__ import annotations

from pathlib import Path

from agent_service.brain import TakeMessage, Turn
from agent_service.chat import ChatMemory


def test_memory_keeps_only_the_last_turns_of_the_most_recent_conversations(tmp_path: Path) -> None:
    memory = ChatMemory(tmp_path / "chat.sqlite3", max_turns=3, max_conversations=2)
    for n in range(5):
        memory.record("a", Turn("user", f"a{n}"))
    memory.record("b", Turn("user", "b0"))
    memory.record("a", Turn("user", "a5"))  # touching "a" makes "b" the least recently used
    memory.record("c", Turn("user", "c0"))
    assert [t.text for t in memory.history("a")] == ["a3", "a4", "a5"]
    assert memory.history("b") == ()
    assert len(memory) == 2


def test_conversations_and_taken_messages_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "chat.sqlite3"
    first = ChatMemory(path, max_turns=10, max_conversations=10)
    assert first.record("wa-1", Turn("user", "hi"), Turn("agent", "hello")) == 2
    first.save_message("wa-1", TakeMessage("Jo", "07700900123", "braces"))
    first.close()
    second = ChatMemory(path, max_turns=10, max_conversations=10)
    assert second.history("wa-1") == (Turn("user", "hi"), Turn("agent", "hello"))
    assert second.messages() == [("wa-1", TakeMessage("Jo", "07700900123", "braces"))]
    # Recency carries over too: after the restart "wa-1" is older than a new conversation.
    second.record("wa-2", Turn("user", "x"))
    bounded = ChatMemory(path, max_turns=10, max_conversations=1)
    bounded.record("wa-3", Turn("user", "y"))
    assert bounded.history("wa-1") == () and bounded.history("wa-2") == ()


def test_constructing_the_memory_touches_no_disk(tmp_path: Path) -> None:
    ChatMemory(tmp_path / "never" / "chat.sqlite3", max_turns=1, max_conversations=1)
    assert not (tmp_path / "never").exists()
